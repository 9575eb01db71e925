"""Generated requests against the real web process for every operation of ``docs/openapi.yaml``,
with a meter's valid key and with a wrong one.

Schemathesis generates requests that fit the description (positive) and requests that break it
(negative) and checks each answer against it: never a 5xx, only documented status codes,
content types, headers and bodies; schema-breaking requests refused. The key belongs to the demo
owner's meter; a second owner with recognisable rows (``tests.fuzzing``) must find them
unchanged, and no answer to the key may show them. A wrong key stores and changes nothing.
Runs are reproducible: Hypothesis is derandomized and keeps no example database.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from devices import hardware
from devices.models import DeviceCommand, EnergyMeter, Reading
from tests.fuzzing import OtherOwner, leaks, live_state_clear, other_owner_rows, other_owner_seed
from tests.web_process import procfile_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SPEC = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
# A body refused for its size answers 413 (Content Too Large), which is a refusal too.
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
SCHEMA = schemathesis.openapi.from_path(
    SPEC,
    config=SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    ),
)
EXAMPLES = 120

#: (operationId, status) -> answers, per run
answers: Counter[tuple[str, int]] = Counter()


def recent_instants() -> st.SearchStrategy[str]:
    """Instants inside the accepted window (7 days old to 30 s ahead), as of when each is drawn.

    The window moves with the clock, which no description can say: with any ``date-time`` a
    description allows, almost every reading would be refused and the checks that valid data is
    accepted could never hold.
    """
    return st.builds(
        lambda offset_s, zulu: (datetime.now(UTC) + timedelta(seconds=offset_s))
        .isoformat()
        .replace("+00:00", "Z" if zulu else "+00:00"),
        st.floats(min_value=-6 * 86_400, max_value=10),
        st.booleans(),
    )


@pytest.fixture(autouse=True)
def _no_state_left_behind() -> Iterator[None]:
    yield
    live_state_clear()


@pytest.fixture(scope="module")
def web(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    # For every date-time schemathesis generates in this process (only this module generates).
    schemathesis.openapi.format("date-time", recent_instants())
    with procfile_web(
        MQTT_TOPIC_PREFIX=f"fuzz-{uuid.uuid4().hex[:8]}/gridtwin/devices",
        # every request goes through validation and storage, none is turned away by the rate
        TELEMETRY_RATE="100000/m",
    ) as url:
        yield url


def operations() -> list[Any]:
    return [result.ok() for result in SCHEMA.get_all_operations()]


def modes(operation: Any) -> list[GenerationMode]:
    """Positive always; negative where there is something to break (a body or a parameter)."""
    breakable = operation.body or operation.path_parameters or operation.query
    return [GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] if breakable else [])]


def demo_meter() -> tuple[EnergyMeter, str]:
    call_command("seed_demo", stdout=io.StringIO())
    meter = EnergyMeter.objects.get(home__owner__username="demo")
    key = hardware.device_api_key_rotate(user_id=meter.home.owner_id, device_id=meter.pk).key
    for command, args in [("ping", {}), ("set_interval", {"seconds": 30}), ("reboot", {})]:
        hardware.command_send(
            user_id=meter.home.owner_id, device_id=meter.pk, command=command, args=args
        )
    return meter, key


def fuzz_operation(
    session: requests.Session,
    base_url: str,
    operation: Any,
    mode: GenerationMode,
    key: str,
    other: OtherOwner,
    command_ids: list[str],
) -> None:
    # The key is fixed, so that negative requests break the body or the path, not the key.
    headers = {"X-API-Key": key}
    cases = operation.as_strategy(generation_mode=mode, headers=headers)
    if "command_id" in operation.path:
        cases |= st.sampled_from(command_ids).flatmap(
            lambda command_id: operation.as_strategy(
                generation_mode=mode, headers=headers, path_parameters={"command_id": command_id}
            )
        )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def one(case: Any) -> None:
        note(repr(case))
        response = case.call(base_url=base_url, session=session)
        answers[(operation.definition.raw["operationId"], response.status_code)] += 1
        assert response.status_code < 500, (response.status_code, response.text)
        case.validate_response(response)
        content_type = (response.headers.get("content-type") or [""])[0]
        if content_type.startswith("application/json"):
            found = leaks(response.json(), other)
            assert not found, f"another owner's data for {case!r}: {found}"

    one()


@pytest.mark.parametrize("key_kind", ["valid", "wrong"])
def test_generated_requests_on_every_operation(web: str, key_kind: str) -> None:
    # given the demo owner's meter with a key and waiting commands, and a second owner's rows
    meter, key = demo_meter()
    other = other_owner_seed()
    before = other_owner_rows(other)
    mine_before = Reading.objects.filter(device=meter).count()
    if key_kind == "wrong":  # the meter's own prefix with another secret: found, then refused
        key = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    command_ids = [
        *(
            str(pk)
            for pk in DeviceCommand.objects.filter(device=meter).values_list("pk", flat=True)
        ),
        *other.command_ids,
        str(uuid.uuid4()),
    ]
    answers.clear()
    # when every operation gets generated requests, fitting the description and not
    with requests.Session() as session:
        for operation in operations():
            for mode in modes(operation):
                fuzz_operation(session, f"{web}/api/v1", operation, mode, key, other, command_ids)
    print(f"\n{key_kind} key: {answers.total()} device API requests sent")
    # then the second owner's rows are as they were
    assert other_owner_rows(other) == before
    statuses = {op: {status for (o, status) in answers if o == op} for op, _ in answers}
    if key_kind == "valid":
        # and the requests reached storage and the commands, not only the refusals
        assert 201 in statuses["telemetryPost"] and 200 in statuses["commandAck"], answers
        assert statuses["commandsGet"] == {200}
    else:
        # and a wrong key got nothing but refusals, and stored nothing
        for op, seen in statuses.items():
            assert op == "openapiGet" or seen <= {401, 413}, (op, seen)
        assert Reading.objects.filter(device=meter).count() == mine_before
