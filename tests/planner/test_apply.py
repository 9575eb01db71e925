"""Plans to physical devices: each interval one set_power command per planned physical device,
over MQTT, and one Decision (source command) recording it; a home without a goal, simulated
devices and another user's devices get nothing; meters refuse set_power."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from devices import hardware
from devices.models import CommandStatus, DeviceCommand
from planner import apply, services
from planner.models import Decision, HomePlan, OptimizationGoal
from tests.command_listener import Listener
from tests.devices.factories import (
    BatteryFactory,
    EnergyMeterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.devices.support import _private_mqtt_topics  # noqa: F401

pytestmark = pytest.mark.django_db

QUARTER = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
PHYSICAL = {"source": "physical", "status": "online"}


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    """Run ``call`` and the work it leaves for after its commit (the publish)."""

    def run(call: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def _home(owner: Any, *, goal: bool = True) -> Any:
    home = HomeFactory(owner=owner, latitude=48.1, longitude=11.6, timezone="Europe/Berlin")
    SolarPanelFactory(home=home)
    if goal:
        OptimizationGoal.objects.create(home=home, objective="cost")
    return home


def _plan(home: Any, now: datetime) -> HomePlan:
    services.plan_get_or_make(user_id=home.owner_id, home_id=home.pk, now=now)
    return HomePlan.objects.get(home=home)


def _setpoint(plan: HomePlan, device: Any, t: int) -> float:
    [entry] = [d for d in plan.payload["devices"] if d["device_id"] == device.pk]
    return float(entry["power_w"][t])


def test_a_physical_battery_gets_its_plans_action_over_mqtt_once_per_interval(
    user: Any, listener: Listener, commit: Any
) -> None:
    home = _home(user)
    battery = BatteryFactory(home=home, level_wh=5000.0, **PHYSICAL)
    plan = _plan(home, QUARTER)

    counts = commit(lambda: apply.plans_apply(now=QUARTER + timedelta(minutes=1)))

    assert counts == {"sent": 1, "skipped": 0}
    [(topic, message)] = listener.wait_for(1)
    assert topic == f"{settings.MQTT_TOPIC_PREFIX}/{battery.pk}/commands"
    power = _setpoint(plan, battery, 0)
    until = (QUARTER + timedelta(minutes=15)).isoformat()
    assert message["command"] == "set_power"
    assert message["args"] == {"power_w": power, "until": until}
    command = DeviceCommand.objects.get()
    assert str(command.id) == message["id"] and command.status == CommandStatus.SENT
    decision = Decision.objects.get()
    assert (decision.device_id, decision.home_id, decision.source) == (
        battery.pk, home.pk, "command",
    )  # fmt: skip
    assert decision.command_id == command.id
    assert decision.interval_start == QUARTER
    assert decision.interval_end == QUARTER + timedelta(minutes=15)
    assert decision.power_w == power
    assert decision.action == ("charge" if power >= 1 else "discharge" if power <= -1 else "idle")
    assert (decision.plan_hash, decision.inputs_hash) == (plan.plan_hash, plan.inputs_hash)
    assert decision.objective == "cost"
    price = plan.payload["intervals"]["import_price_per_kwh"][0]
    carbon = plan.payload["intervals"]["carbon_g_per_kwh"][0]
    kwh = power * 0.25 / 1000.0  # a quarter hour at the setpoint
    assert decision.expected_cost == pytest.approx(kwh * price)
    assert decision.expected_carbon_g == pytest.approx(kwh * carbon)

    # Again in the same interval: nothing more is sent or recorded.
    assert commit(lambda: apply.plans_apply(now=QUARTER + timedelta(minutes=14))) == {
        "sent": 0, "skipped": 0,
    }  # fmt: skip
    assert Decision.objects.count() == 1 and DeviceCommand.objects.count() == 1

    # The next interval: the plan's next setpoint, even though no new plan was made.
    assert commit(lambda: apply.plans_apply(now=QUARTER + timedelta(minutes=16)))["sent"] == 1
    messages = listener.wait_for(2)
    assert len(messages) == 2
    later = Decision.objects.get(interval_start=QUARTER + timedelta(minutes=15))
    assert later.power_w == _setpoint(plan, battery, 1)
    assert messages[1][1]["args"]["power_w"] == later.power_w


def test_an_offline_device_gets_its_command_when_it_reports(user: Any, commit: Any) -> None:
    home = _home(user)
    battery = BatteryFactory(home=home, source="physical", status="offline")
    _plan(home, QUARTER)
    assert commit(lambda: apply.plans_apply(now=QUARTER))["sent"] == 1
    command = DeviceCommand.objects.get(device=battery)
    assert command.status == CommandStatus.PENDING and command.attempts == 0
    assert Decision.objects.get().command_id == command.id


def test_no_goal_no_plan_simulated_devices_and_other_users_devices_get_nothing(
    user: Any, other_user: Any, listener: Listener, commit: Any
) -> None:
    planned = _home(user)
    mine = BatteryFactory(home=planned, **PHYSICAL)
    BatteryFactory(home=planned)  # simulated: the farm applies its plan
    no_goal = _home(user, goal=False)
    BatteryFactory(home=no_goal, **PHYSICAL)
    _plan(no_goal, QUARTER)  # a plan asked for over the API, but no goal set
    theirs = BatteryFactory(home=_home(other_user, goal=False), **PHYSICAL)
    no_plan_yet = BatteryFactory(home=_home(other_user), **PHYSICAL)
    plan = _plan(planned, QUARTER)
    # A plan naming another user's device (as no plan should) still commands only its own.
    plan.payload["devices"].append({**plan.payload["devices"][0], "device_id": theirs.pk})
    plan.save()

    assert commit(lambda: apply.plans_apply(now=QUARTER))["sent"] == 1

    [(topic, _)] = listener.wait_for(1)
    assert topic == f"{settings.MQTT_TOPIC_PREFIX}/{mine.pk}/commands"
    assert list(Decision.objects.values_list("device_id", flat=True)) == [mine.pk]
    assert not DeviceCommand.objects.filter(device__in=[theirs, no_plan_yet]).exists()


def test_an_invalid_plan_and_a_plan_that_does_not_cover_the_interval_send_nothing(
    user: Any, commit: Any
) -> None:
    home = _home(user)
    BatteryFactory(home=home, **PHYSICAL)
    _plan(home, QUARTER)
    late = QUARTER + timedelta(hours=24)
    assert commit(lambda: apply.plans_apply(now=late)) == {"sent": 0, "skipped": 1}
    HomePlan.objects.update(status="invalid")
    assert commit(lambda: apply.plans_apply(now=QUARTER)) == {"sent": 0, "skipped": 1}
    assert not Decision.objects.exists() and not DeviceCommand.objects.exists()


def _send(device: Any, **args: Any) -> Any:
    return hardware.command_send(
        user_id=device.home.owner_id, device_id=device.pk, command="set_power", args=args
    )


UNTIL = "2026-06-10T09:15:00+00:00"


def test_set_power_is_accepted_by_physical_planned_devices_only(user: Any, other_user: Any) -> None:
    battery = BatteryFactory(home__owner=user, source="physical")
    assert _send(battery, power_w=-2500, until=UNTIL).args == {"power_w": -2500.0, "until": UNTIL}
    meter = EnergyMeterFactory(home__owner=user)
    with pytest.raises(ValidationError) as error:
        _send(meter, power_w=100.0, until=UNTIL)
    assert error.value.error_dict["command"][0].code == "wrong_kind"
    assert "energy meter" in error.value.error_dict["command"][0].message
    panel = SolarPanelFactory(home__owner=user, source="physical")
    with pytest.raises(ValidationError) as error:
        _send(panel, power_w=100.0, until=UNTIL)
    assert error.value.error_dict["command"][0].code == "wrong_kind"
    with pytest.raises(ValidationError) as error:
        hardware.command_send(
            user_id=other_user.pk, device_id=battery.pk, command="set_power",
            args={"power_w": 1.0, "until": UNTIL},
        )  # fmt: skip
    assert error.value.error_dict["device_id"][0].code == "not_found"
    assert DeviceCommand.objects.count() == 1


@pytest.mark.parametrize(
    "args",
    [
        {"power_w": 100.0},
        {"until": UNTIL},
        {"power_w": float("nan"), "until": UNTIL},
        {"power_w": "100", "until": UNTIL},
        {"power_w": 2e6, "until": UNTIL},
        {"power_w": 100.0, "until": "2026-06-10T09:15:00"},
        {"power_w": 100.0, "until": "soon"},
        {"power_w": 100.0, "until": UNTIL, "ramp": 1},
    ],
)
def test_bad_set_power_arguments_are_refused(user: Any, args: dict[str, Any]) -> None:
    battery = BatteryFactory(home__owner=user, source="physical")
    with pytest.raises(ValidationError) as error:
        _send(battery, **args)
    assert list(error.value.error_dict) == ["args"]
    assert not DeviceCommand.objects.exists()
