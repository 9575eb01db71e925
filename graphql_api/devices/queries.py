import base64
from typing import Annotated, Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet
from strawberry.types import Info

from accounts.models import User
from devices import selectors
from devices.models import Device, Home
from graphql_api.accounts.types import UserType
from graphql_api.context import current_user_id
from graphql_api.devices.types import (
    DeviceEdge,
    DeviceInterface,
    DeviceKind,
    DeviceSource,
    DeviceStatus,
    HomeType,
    PageInfo,
)
from graphql_api.errors import PublicError, Unauthenticated
from graphql_api.permissions import IsAuthenticated

_CURSOR_PREFIX = "device:"


def encode_cursor(device_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{device_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(raw)
        return int(raw.removeprefix(_CURSOR_PREFIX))
    except (ValueError, UnicodeDecodeError):
        raise PublicError("Invalid cursor.", code="BAD_CURSOR", field="after") from None


@strawberry.type(name="DeviceConnection")
class DeviceConnection:
    """A page of devices; ``totalCount`` is counted only when asked for."""

    edges: list[DeviceEdge]
    page_info: PageInfo
    _queryset: strawberry.Private[QuerySet[Device]]

    @strawberry.field
    async def total_count(self) -> int:
        return await sync_to_async(self._queryset.count)()


def _page(queryset: QuerySet[Device], first: int, after: str | None) -> DeviceConnection:
    limit = settings.GRAPHQL_MAX_PAGE_SIZE
    if not 0 < first <= limit:
        raise PublicError(f"first must be between 1 and {limit}.", code="BAD_PAGE", field="first")
    page_qs = queryset
    if after is not None:
        page_qs = page_qs.filter(id__gt=decode_cursor(after))
    rows: list[Any] = list(page_qs.select_related("home")[: first + 1])
    has_next = len(rows) > first
    rows = rows[:first]
    edges = [DeviceEdge(cursor=encode_cursor(row.pk), node=row) for row in rows]
    return DeviceConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        _queryset=queryset,
    )


@strawberry.type
class DeviceQuery:
    @strawberry_django.field(permission_classes=[IsAuthenticated], description="The caller.")
    def me(self, info: Info) -> UserType:
        user = User.objects.filter(pk=current_user_id(info), is_active=True).first()
        if user is None:  # deleted or deactivated since the token was issued
            raise Unauthenticated("Authentication required.")
        return user  # type: ignore[return-value]

    @strawberry_django.field(
        permission_classes=[IsAuthenticated], description="The caller's homes."
    )
    def homes(self, info: Info) -> list[HomeType]:
        return list(selectors.home_list(user_id=current_user_id(info)))  # type: ignore[arg-type]

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="One of the caller's homes; null if there is no such home.",
    )
    def home(self, info: Info, id: strawberry.ID) -> HomeType | None:
        try:
            return selectors.home_get(user_id=current_user_id(info), home_id=id)  # type: ignore[return-value]
        except Home.DoesNotExist:
            return None

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="The caller's devices, oldest first, a page at a time.",
    )
    def devices(
        self,
        info: Info,
        home_id: strawberry.ID | None = None,
        kind: DeviceKind | None = None,
        # `source_`: a field extension (the permission) takes `source` as its own parameter.
        source_: Annotated[DeviceSource | None, strawberry.argument(name="source")] = None,
        status: DeviceStatus | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> DeviceConnection:
        user_id = current_user_id(info)
        queryset = selectors.device_list(
            user_id=user_id, home_id=home_id, kind=kind, source=source_, status=status
        )
        return _page(queryset, first, after)

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="One of the caller's devices; null if there is none.",
    )
    def device(self, info: Info, id: strawberry.ID) -> DeviceInterface | None:
        try:
            return selectors.device_get(user_id=current_user_id(info), device_id=id)  # type: ignore[return-value]
        except Device.DoesNotExist:
            return None
