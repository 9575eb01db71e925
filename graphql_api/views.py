"""The HTTP endpoint for GraphQL."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import AsyncGraphQLView

from graphql_api.context import Context, context_for_request
from graphql_api.schema import schema


class GraphQLView(AsyncGraphQLView[Context, None]):
    async def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:
        return context_for_request(request, response)


# CSRF does not apply: the API authenticates only by the Authorization header, which a
# cross-site form cannot set; no cookie session is ever accepted here.
graphql_view: Any = csrf_exempt(
    GraphQLView.as_view(
        schema=schema,
        graphql_ide="graphiql" if settings.GRAPHIQL else None,
        allow_queries_via_get=False,  # POST only: queries never land in URLs and logs
    )
)
