"""The HTTP endpoint for GraphQL."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import AsyncGraphQLView

from graphql_api.context import Context, context_for_request
from graphql_api.ide import graphiql_html
from graphql_api.schema import schema


def _body_too_large() -> JsonResponse:
    limit = settings.GRAPHQL_MAX_BODY_BYTES
    error = {
        "message": f"The request body is longer than {limit} bytes; send a shorter one.",
        "extensions": {"code": "BODY_TOO_LARGE"},
    }
    return JsonResponse({"data": None, "errors": [error]}, status=413)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class GraphQLView(AsyncGraphQLView[Context, None]):
    async def dispatch(  # type: ignore[override]  # an async view, as strawberry's own
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        # Refused before the body is read or decoded (Django's own limit would answer 400,
        # and with DEBUG on, its error page).
        if _declared_length(request) > settings.GRAPHQL_MAX_BODY_BYTES:
            return _body_too_large()
        try:
            if len(request.body) > settings.GRAPHQL_MAX_BODY_BYTES:
                return _body_too_large()
        except RequestDataTooBig:
            return _body_too_large()
        return await super().dispatch(request, *args, **kwargs)

    @property
    def graphql_ide_html(self) -> str:  # type: ignore[override]  # a property, as strawberry's
        return graphiql_html()

    async def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:
        return await context_for_request(request, response)


# CSRF does not apply: the API authenticates only by the Authorization header, which a
# cross-site form cannot set; no cookie session is ever accepted here.
graphql_view: Any = csrf_exempt(
    GraphQLView.as_view(
        schema=schema,
        # GraphiQL only while DEBUG is on, whatever the settings module says.
        graphql_ide="graphiql" if settings.DEBUG and settings.GRAPHIQL else None,
        allow_queries_via_get=False,  # POST only: queries never land in URLs and logs
    )
)
