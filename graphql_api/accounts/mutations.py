import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo

from accounts import services
from accounts.throttle import LoginThrottled
from graphql_api.accounts.cookies import refresh_cookie_clear, refresh_cookie_set
from graphql_api.accounts.types import AuthPayload, UserType
from graphql_api.context import Context
from graphql_api.errors import PublicError

NO_REFRESH_TOKEN = (
    "No refresh token: send refreshToken, or call from the browser that logged in (it holds "
    "the refresh cookie)."
)


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

    @strawberry_django.mutation(
        description=(
            "A new session. Browsers also get the refresh token as an httpOnly cookie "
            "(gridtwin_refresh), so page scripts need not keep it."
        )
    )
    def login_user(self, info: Info[Context, None], username: str, password: str) -> AuthPayload:
        address = info.context.client_ip  # HTTP: the request's; WebSocket: the connection's
        try:
            pair = services.user_login(username=username, password=password, client_ip=address)
        except LoginThrottled as exc:
            raise PublicError(str(exc), code="RATE_LIMITED", retryAfter=exc.retry_after_s) from None
        except ValidationError:
            raise PublicError(services.LOGIN_FAILED, code="INVALID_CREDENTIALS") from None
        refresh_cookie_set(info.context, pair.refresh_token)
        return _payload(pair)

    @strawberry_django.mutation(
        description=(
            "A new pair for a refresh token, which is retired. Without the argument, the "
            "refresh cookie set at login is used (and replaced)."
        )
    )
    def refresh_token(
        self, info: Info[Context, None], refresh_token: str | None = None
    ) -> AuthPayload:
        from_cookie = refresh_token is None
        token = info.context.refresh_cookie if from_cookie else refresh_token
        if not token:
            raise PublicError(NO_REFRESH_TOKEN, code="INVALID_REFRESH_TOKEN")
        try:
            pair = services.refresh_token_rotate(refresh_token=token)
        except services.InvalidRefreshToken:
            if from_cookie:
                refresh_cookie_clear(info.context)
            raise PublicError(
                services.InvalidRefreshToken.message, code="INVALID_REFRESH_TOKEN"
            ) from None
        refresh_cookie_set(info.context, pair.refresh_token)
        return _payload(pair)

    @strawberry_django.mutation(
        description=(
            "Revoke the session of this refresh token (without the argument: of the refresh "
            "cookie) and clear the cookie."
        )
    )
    def logout(self, info: Info[Context, None], refresh_token: str | None = None) -> bool:
        token = info.context.refresh_cookie if refresh_token is None else refresh_token
        if token:
            services.user_logout(refresh_token=token)
        refresh_cookie_clear(info.context)
        return True


__all__ = ["AccountMutation", "OperationInfo"]
