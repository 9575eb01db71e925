"""Writes to homes and devices. Each validates fully, saves, and raises ValidationError."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from devices import dispatch, selectors
from devices.errors import field_error, not_found
from devices.models import (
    DEVICE_MODELS,
    Device,
    DeviceKind,
    DeviceSource,
    DeviceStatus,
    ElectricVehicle,
    EvMode,
    Home,
)

HOME_FIELDS = ("name", "latitude", "longitude", "timezone", "base_load_w")
# Fields no client may set through create/update: identity, bookkeeping and secrets.
_PROTECTED_DEVICE_FIELDS = frozenset(
    {
        "id",
        "device_ptr",
        "home",
        "kind",
        "created_at",
        "updated_at",
        "last_seen_at",
        "api_key_prefix",
        "api_key_hash",
        "level_at",
    }
)


def _validate(instance: Home | Device, *, exclude: tuple[str, ...] = ()) -> None:
    """Field validators and clean(); the CheckConstraints stay the database's own guard.

    Django's full_clean would check each CheckConstraint with a SELECT of its own (five round
    trips for a solar panel); every constraint mirrors a field validator or clean() rule.
    """
    instance.full_clean(exclude=exclude, validate_constraints=False)


def _apply(
    instance: Home | Device, fields: Mapping[str, Any], allowed: frozenset[str]
) -> list[str]:
    changed = []
    for name, value in fields.items():
        if name not in allowed:
            raise field_error(name, "This field cannot be set.", code="not_settable")
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def home_create(*, owner_id: int, **fields: Any) -> Home:
    home = Home(owner_id=owner_id)
    _apply(home, fields, frozenset(HOME_FIELDS))
    _validate(home)
    home.save()
    return home


@transaction.atomic
def home_update(*, user_id: int, home_id: int | str, **fields: Any) -> Home:
    try:
        home = selectors.home_list(user_id=user_id).select_for_update().get(pk=int(home_id))
    except (Home.DoesNotExist, ValueError):
        raise not_found("id", "Home") from None
    changed = _apply(home, fields, frozenset(HOME_FIELDS))
    if changed:
        _validate(home)
        home.save(update_fields=[*changed, "updated_at"])
    return home


@transaction.atomic
def home_delete(*, user_id: int, home_id: int | str) -> Home:
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        raise not_found("id", "Home") from None
    # The answer is the home as it was: every field, though its row is gone.
    deleted = Home(**{f.attname: getattr(home, f.attname) for f in Home._meta.concrete_fields})
    home.delete()
    return deleted


def settable_fields(model: type[Device]) -> frozenset[str]:
    """The fields of ``model`` that create and update accept."""
    names = set()
    for field in model._meta.get_fields():
        if not getattr(field, "concrete", False) or getattr(field, "auto_created", False):
            continue
        if field.name in _PROTECTED_DEVICE_FIELDS or not getattr(field, "editable", True):
            continue
        names.add(field.name)
    return frozenset(names)


@transaction.atomic
def device_create(*, user_id: int, kind: DeviceKind, home_id: int | str, **fields: Any) -> Device:
    """Create a device of ``kind`` in one of the user's homes."""
    model = DEVICE_MODELS[kind]
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        raise not_found("home_id", "Home") from None
    device = model(home=home)
    if kind == DeviceKind.ENERGY_METER:
        device.source = DeviceSource.PHYSICAL
    _apply(device, fields, settable_fields(model))
    if device.source == DeviceSource.PHYSICAL and "status" not in fields:
        device.status = DeviceStatus.OFFLINE  # online once it reports
    _validate(device, exclude=("home",))  # the home was just loaded by its owner
    device.save()
    _simulate_on_commit(device)
    return device


@transaction.atomic
def device_update(*, user_id: int, device_id: int | str, **fields: Any) -> Device:
    """Change the given fields of one of the user's devices; validates the result."""
    device = _device_for_update(user_id=user_id, device_id=device_id)
    changed = _apply(device, fields, settable_fields(type(device)))
    if changed:
        _validate(device)
        device.save(update_fields=[*changed, "updated_at"])
        _simulate_on_commit(device)
    return device


@transaction.atomic
def device_delete(*, user_id: int, device_id: int | str) -> Device:
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise not_found("id", "Device") from None
    snapshot = type(device)(pk=device.pk, name=device.name, home_id=device.home_id)
    snapshot.kind = device.kind
    device.delete()
    return snapshot


@transaction.atomic
def electric_vehicle_set_mode(
    *, user_id: int, device_id: int | str, mode: EvMode
) -> ElectricVehicle:
    device = _device_for_update(user_id=user_id, device_id=device_id)
    if not isinstance(device, ElectricVehicle):
        raise field_error("device_id", "Not an electric vehicle.", code="wrong_kind")
    if device.mode != mode:
        device.mode = mode
        _validate(device)
        device.save(update_fields=["mode", "updated_at"])
        _simulate_on_commit(device)
    return device


def _device_for_update(*, user_id: int, device_id: int | str) -> Device:
    try:
        base = (
            selectors.device_list(user_id=user_id)
            .select_for_update(of=("self",))
            .get(pk=int(device_id))
        )
    except (Device.DoesNotExist, ValueError):
        raise not_found("device_id", "Device") from None
    return base


def _simulate_on_commit(device: Device) -> None:
    """After commit, step a simulated device at once so its live state shows within a second."""
    if device.source != DeviceSource.SIMULATED:
        return
    dispatch.device_step_request(device_id=device.pk)
