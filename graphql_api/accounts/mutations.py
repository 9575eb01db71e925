import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo

from accounts import services
from accounts.throttle import LoginThrottled
from graphql_api.accounts.types import AuthPayload, UserType
from graphql_api.context import Context
from graphql_api.errors import PublicError


def _payload(pair: services.TokenPair) -> AuthPayload:
    return AuthPayload(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in_s,
        user=pair.user,  # type: ignore[arg-type]
    )


@strawberry.type
class AccountMutation:
    @strawberry_django.mutation(handle_django_errors=True)
    def register(
        self, username: str, password: str, email: str = ""
    ) -> UserType:  # handle_django_errors adds "| OperationInfo"
        return services.user_register(  # type: ignore[return-value]
            username=username, password=password, email=email
        )

    @strawberry_django.mutation
    def login_user(self, info: Info[Context, None], username: str, password: str) -> AuthPayload:
        address = info.context.client_ip  # HTTP: the request's; WebSocket: the connection's
        try:
            pair = services.user_login(username=username, password=password, client_ip=address)
        except LoginThrottled as exc:
            raise PublicError(str(exc), code="RATE_LIMITED", retryAfter=exc.retry_after_s) from None
        except ValidationError:
            raise PublicError(services.LOGIN_FAILED, code="INVALID_CREDENTIALS") from None
        return _payload(pair)

    @strawberry_django.mutation
    def refresh_token(self, refresh_token: str) -> AuthPayload:
        try:
            pair = services.refresh_token_rotate(refresh_token=refresh_token)
        except services.InvalidRefreshToken:
            raise PublicError(
                services.InvalidRefreshToken.message, code="INVALID_REFRESH_TOKEN"
            ) from None
        return _payload(pair)

    @strawberry_django.mutation(description="Revoke the session of this refresh token.")
    def logout(self, refresh_token: str) -> bool:
        services.user_logout(refresh_token=refresh_token)
        return True


__all__ = ["AccountMutation", "OperationInfo"]
