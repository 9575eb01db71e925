"""The refresh token as a browser keeps it: an httpOnly, ``SameSite=Strict`` cookie.

``loginUser`` and ``refreshToken`` set it beside the body field (other clients keep using the
body); ``refreshToken`` and ``logout`` read it when called without an argument; ``logout``
clears it. Page scripts never see it (httpOnly), other sites never send it (Strict), and it
goes only to the API's path. Over WebSocket there is no HTTP response, so no cookie.
"""

from typing import Any

from django.conf import settings

from graphql_api.context import REFRESH_COOKIE, Context

REFRESH_COOKIE_PATH = "/graphql"


def refresh_cookie_set(context: Context, token: str) -> None:
    response: Any = context.response
    if response is None:
        return
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=int(settings.JWT_REFRESH_TOKEN_LIFETIME.total_seconds()),
        path=REFRESH_COOKIE_PATH,
        secure=settings.REFRESH_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def refresh_cookie_clear(context: Context) -> None:
    response: Any = context.response
    if response is None:
        return
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
