"""Reads, always on behalf of a user: what is not theirs does not exist for them."""

from django.db.models import QuerySet

from devices.models import Alert, Device, DeviceKind, Home


def home_list(*, user_id: int) -> QuerySet[Home]:
    return Home.objects.filter(owner_id=user_id)


def home_get(*, user_id: int, home_id: int | str) -> Home:
    """The user's home ``home_id``; ``Home.DoesNotExist`` if missing or someone else's."""
    return home_list(user_id=user_id).get(pk=_as_pk(home_id, Home))


def device_list(
    *,
    user_id: int,
    home_id: int | str | None = None,
    kind: DeviceKind | str | None = None,
    source: str | None = None,
    status: str | None = None,
) -> QuerySet[Device]:
    """The user's devices as their concrete kinds, resolved in one query (LEFT JOINs)."""
    qs = Device.objects.filter(home__owner_id=user_id)
    if home_id is not None:
        try:
            qs = qs.filter(home_id=_as_pk(home_id, Home))
        except Home.DoesNotExist:
            qs = qs.none()
    if kind is not None:
        qs = qs.filter(kind=kind)
    if source is not None:
        qs = qs.filter(source=source)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.select_subclasses().order_by("id")  # type: ignore[attr-defined,no-any-return]


def device_get(*, user_id: int, device_id: int | str) -> Device:
    """The user's device ``device_id`` as its concrete kind; ``Device.DoesNotExist`` otherwise."""
    device: Device = device_list(user_id=user_id).get(pk=_as_pk(device_id, Device))
    return device


def alert_list_open(*, user_id: int) -> QuerySet[Alert]:
    """The user's unresolved alerts, oldest first."""
    alerts = Alert.objects.filter(device__home__owner_id=user_id, resolved_at__isnull=True)
    return alerts.order_by("raised_at", "id")


def _as_pk(value: int | str, model: type[Home] | type[Device]) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise model.DoesNotExist from None
    if pk <= 0:
        raise model.DoesNotExist
    return pk
