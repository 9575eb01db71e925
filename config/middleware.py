"""The lean middleware of the machine-facing endpoints (GraphQL over HTTP, device ingest).

Django's stock middleware is synchronous: under ASGI each one costs two thread hops per
request, about 2 ms in all, for sessions, messages and CSRF that token- and key-authenticated
APIs never use. These endpoints get this one async middleware instead: it still enforces
ALLOWED_HOSTS, sets Content-Length like CommonMiddleware and the security headers
SecurityMiddleware would.
"""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class APIGuardMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.get_host()  # DisallowedHost (400) unless the Host is in ALLOWED_HOSTS
        response = await self.get_response(request)
        if not response.streaming and "Content-Length" not in response.headers:
            # CommonMiddleware's job in the full stack; without it answers go out chunked.
            response.headers["Content-Length"] = str(len(response.content))  # type: ignore[attr-defined]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        if settings.SECURE_HSTS_SECONDS and request.is_secure():
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={settings.SECURE_HSTS_SECONDS}"
            )
        return response
