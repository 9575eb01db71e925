"""Per-request dataloaders (one query per batch of keys)."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from asgiref.sync import sync_to_async
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from devices.models import Device


def _devices_by_home_ids(home_ids: Sequence[int]) -> list[list[Device]]:
    grouped: dict[int, list[Device]] = defaultdict(list)
    rows = Device.objects.filter(home_id__in=home_ids).select_subclasses().order_by("id")  # type: ignore[attr-defined]
    for device in rows:
        grouped[device.home_id].append(device)
    return [grouped[home_id] for home_id in home_ids]


def devices_by_home(info: Info) -> "DataLoader[int, list[Any]]":
    """``DevicesByHomeLoader``: the devices of already-authorised homes, one query per batch.

    Callers pass only ids of homes the requester owns (the home was loaded through a selector).
    """
    loaders: dict[str, Any] = info.context.loaders
    if "devices_by_home" not in loaders:

        async def load(keys: list[int]) -> list[list[Any]]:
            return await sync_to_async(_devices_by_home_ids)(keys)

        loaders["devices_by_home"] = DataLoader(load_fn=load)
    loader: DataLoader[int, list[Any]] = loaders["devices_by_home"]
    return loader
