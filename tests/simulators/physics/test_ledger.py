"""The cost and carbon ledger: conservation over random ticks, and a home's day worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.physics.ledger import LedgerResult, StoreBook, ledger_step

HOUR_S = 3600.0


def _one_home_tick(
    *,
    solar_w: float,
    load_w: float,
    battery_flow_w: float,
    level_wh: float,
    book: StoreBook,
    price: float,
    export_price: float,
    intensity: float,
) -> LedgerResult:
    net = load_w + battery_flow_w - solar_w
    return ledger_step(
        solar_w=np.array([solar_w]),
        generator_w=np.zeros(1),
        consumption_w=np.array([load_w]),
        net_grid_flow_w=np.array([net]),
        import_price_per_kwh=np.array([price]),
        export_price_per_kwh=np.array([export_price]),
        carbon_intensity_g_per_kwh=np.array([intensity]),
        store_home_index=np.zeros(1, dtype=np.int64),
        store_level_before_wh=np.array([level_wh]),
        store_flow_w=np.array([battery_flow_w]),
        store_efficiency=np.array([0.9]),
        store_driven_wh=np.zeros(1),
        books=book,
        dt_s=HOUR_S,
    )


def test_a_day_evening_consumption_carries_the_stored_noon_energy_cost_and_carbon() -> None:
    """
    One home, one battery (η = 0.9, empty at 03:00), hourly ticks, so W read as Wh.

    03:00  load 500 W from the grid at 0.10/kWh and 100 g/kWh:
           import 0.5 kWh → cost 0.05, carbon 50 g; the load carries both.
    12:00  solar 2,000 W, load 1,500 W, the battery charges 1,000 W; the home imports
           1,500 + 1,000 - 2,000 = 500 W at 0.20/kWh and 150 g/kWh.
           Pool: 2.0 kWh solar + 0.5 kWh grid = 2.5 kWh costing 0.5 · 0.20 = 0.10 and
           emitting 0.5 · 150 = 75 g. Sinks: load 1.5 kWh (60 %), battery 1.0 kWh (40 %).
           Load: 0.06 and 45 g. Battery: 0.04 and 30 g for 0.9 kWh stored (0.1 kWh lost),
           so 0.04 / 0.9 = 0.0444…/kWh and 30 / 0.9 = 33.33… g/kWh; origin 80 % solar
           (2.0 / 2.5), 20 % grid. Avoided: 2.0 kWh own · 60 % to the load · 150 = 180 g.
    19:00  load 900 W, the battery discharges 900 W, no import; the grid would have been
           0.40/kWh and 300 g/kWh. The load takes the stored 0.9 kWh: cost 0.04 and 30 g
           (the grid's would be 0.36 and 270 g). Avoided: the 0.72 kWh of solar origin
           reaching the load · 300 = 216 g. The battery is empty.
    Day    import cost 0.05 + 0.10 = 0.15 = the load's 0.05 + 0.06 + 0.04; carbon
           50 + 75 = 125 g = the load's 50 + 45 + 30; avoided 180 + 216 = 396 g.
    """
    night = _one_home_tick(
        solar_w=0.0,
        load_w=500.0,
        battery_flow_w=0.0,
        level_wh=0.0,
        book=StoreBook.empty(1),
        price=0.10,
        export_price=0.05,
        intensity=100.0,
    )
    assert night.homes.import_cost[0] == pytest.approx(0.05)
    assert night.homes.carbon_g[0] == pytest.approx(50.0)
    assert night.homes.load_cost[0] == pytest.approx(0.05)
    assert night.homes.load_carbon_g[0] == pytest.approx(50.0)

    noon = _one_home_tick(
        solar_w=2_000.0,
        load_w=1_500.0,
        battery_flow_w=1_000.0,
        level_wh=0.0,
        book=night.books,
        price=0.20,
        export_price=0.05,
        intensity=150.0,
    )
    assert noon.homes.import_wh[0] == pytest.approx(500.0)
    assert noon.homes.import_cost[0] == pytest.approx(0.10)
    assert noon.homes.carbon_g[0] == pytest.approx(75.0)
    assert noon.homes.load_cost[0] == pytest.approx(0.06)
    assert noon.homes.load_carbon_g[0] == pytest.approx(45.0)
    assert noon.homes.loss_wh[0] == pytest.approx(100.0)
    assert noon.stored_wh[0] == pytest.approx(900.0)
    assert noon.books.cost_per_kwh[0] == pytest.approx(0.04 / 0.9)
    assert noon.books.carbon_g_per_kwh[0] == pytest.approx(30.0 / 0.9)
    assert noon.books.solar_share[0] == pytest.approx(0.8)
    assert noon.books.grid_share[0] == pytest.approx(0.2)
    assert noon.homes.carbon_avoided_g[0] == pytest.approx(180.0)

    evening = _one_home_tick(
        solar_w=0.0,
        load_w=900.0,
        battery_flow_w=-900.0,
        level_wh=900.0,
        book=noon.books,
        price=0.40,
        export_price=0.05,
        intensity=300.0,
    )
    assert evening.homes.import_wh[0] == 0.0
    assert evening.homes.import_cost[0] == 0.0
    assert evening.homes.load_cost[0] == pytest.approx(0.04)
    assert evening.homes.load_carbon_g[0] == pytest.approx(30.0)
    assert evening.homes.load_cost[0] != pytest.approx(0.9 * 0.40)
    assert evening.homes.carbon_avoided_g[0] == pytest.approx(216.0)
    assert evening.stored_wh[0] == pytest.approx(0.0)

    day = [night.homes, noon.homes, evening.homes]
    assert sum(h.import_cost[0] for h in day) == pytest.approx(0.15)
    assert sum(h.load_cost[0] for h in day) == pytest.approx(0.15)
    assert sum(h.carbon_g[0] for h in day) == pytest.approx(125.0)
    assert sum(h.load_carbon_g[0] for h in day) == pytest.approx(125.0)
    assert sum(h.carbon_avoided_g[0] for h in day) == pytest.approx(396.0)


def test_losses_keep_their_cost_in_what_remains() -> None:
    """1 kWh charged from the grid at 0.30/kWh and 200 g/kWh into a store with η = 0.9 holds
    0.9 kWh costing 0.30 and 200 g: 0.333…/kWh and 222.2… g/kWh."""
    tick = _one_home_tick(
        solar_w=0.0,
        load_w=0.0,
        battery_flow_w=1_000.0,
        level_wh=0.0,
        book=StoreBook.empty(1),
        price=0.30,
        export_price=0.0,
        intensity=200.0,
    )
    assert tick.books.cost_per_kwh[0] == pytest.approx(0.30 / 0.9)
    assert tick.books.carbon_g_per_kwh[0] == pytest.approx(200.0 / 0.9)
    assert tick.books.grid_share[0] == pytest.approx(1.0)


def test_driving_leaves_the_ledger_as_driving_not_home_consumption() -> None:
    """A vehicle holding 10 kWh at 0.25/kWh and 120 g/kWh drives 4 kWh: driving takes 1.00 and
    480 g; the load (200 W for an hour, from the grid at 0.10 and 50 g) carries 0.02 and 10 g."""
    book = StoreBook(
        cost_per_kwh=np.array([0.25]),
        carbon_g_per_kwh=np.array([120.0]),
        solar_share=np.zeros(1),
        generator_share=np.zeros(1),
        grid_share=np.ones(1),
    )
    tick = ledger_step(
        solar_w=np.zeros(1),
        generator_w=np.zeros(1),
        consumption_w=np.array([200.0]),
        net_grid_flow_w=np.array([200.0]),
        import_price_per_kwh=np.array([0.10]),
        export_price_per_kwh=np.array([0.05]),
        carbon_intensity_g_per_kwh=np.array([50.0]),
        store_home_index=np.zeros(1, dtype=np.int64),
        store_level_before_wh=np.array([10_000.0]),
        store_flow_w=np.zeros(1),
        store_efficiency=np.array([0.9]),
        store_driven_wh=np.array([4_000.0]),
        books=book,
        dt_s=HOUR_S,
    )
    assert tick.homes.driven_wh[0] == pytest.approx(4_000.0)
    assert tick.homes.driven_cost[0] == pytest.approx(1.00)
    assert tick.homes.driven_carbon_g[0] == pytest.approx(480.0)
    assert tick.homes.load_cost[0] == pytest.approx(0.02)
    assert tick.homes.load_carbon_g[0] == pytest.approx(10.0)
    assert tick.stored_wh[0] == pytest.approx(6_000.0)
    assert tick.books.cost_per_kwh[0] == pytest.approx(0.25)


def test_export_earns_at_the_export_price_and_own_solar_exported_avoids_carbon() -> None:
    """3 kW of solar, 1 kW of load, no store, for an hour: 2 kWh exported at 0.08 earns 0.16;
    all 3 kWh of solar reach the load or the grid and avoid 3 · 200 = 600 g."""
    tick = ledger_step(
        solar_w=np.array([3_000.0]),
        generator_w=np.zeros(1),
        consumption_w=np.array([1_000.0]),
        net_grid_flow_w=np.array([-2_000.0]),
        import_price_per_kwh=np.array([0.30]),
        export_price_per_kwh=np.array([0.08]),
        carbon_intensity_g_per_kwh=np.array([200.0]),
        store_home_index=np.zeros(0, dtype=np.int64),
        store_level_before_wh=np.zeros(0),
        store_flow_w=np.zeros(0),
        store_efficiency=np.zeros(0),
        store_driven_wh=np.zeros(0),
        books=StoreBook.empty(0),
        dt_s=HOUR_S,
    )
    assert tick.homes.export_wh[0] == pytest.approx(2_000.0)
    assert tick.homes.export_revenue[0] == pytest.approx(0.16)
    assert tick.homes.import_cost[0] == 0.0
    assert tick.homes.carbon_avoided_g[0] == pytest.approx(600.0)


_power = st.floats(min_value=0.0, max_value=20_000.0, allow_nan=False)
_fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _array(draw: st.DrawFn, values: st.SearchStrategy[float], size: int) -> np.ndarray:
    return np.array(draw(st.lists(values, min_size=size, max_size=size)), dtype=np.float64)


@st.composite
def _ticks(draw: st.DrawFn) -> dict[str, object]:
    homes = draw(st.integers(min_value=1, max_value=4))
    stores = draw(st.integers(min_value=0, max_value=6))
    dt_s = draw(st.sampled_from([1.0, 60.0, 900.0, 3600.0]))
    home_index = np.array(
        draw(st.lists(st.integers(0, homes - 1), min_size=stores, max_size=stores)),
        dtype=np.int64,
    )
    level = np.array(draw(st.lists(st.floats(0.0, 100_000.0), min_size=stores, max_size=stores)))
    driven = level * np.array(draw(st.lists(_fraction, min_size=stores, max_size=stores)))
    can_discharge_w = (level - driven) * 3600.0 / dt_s
    flow = np.array(
        [
            draw(st.one_of(_power, st.floats(0.0, 1.0).map(lambda f, c=c: -f * c)))
            for c in can_discharge_w.tolist()
        ]
    )
    triples = st.tuples(_fraction, _fraction, _fraction)
    shares = np.array(draw(st.lists(triples, min_size=stores, max_size=stores)))
    shares = shares.reshape(stores, 3)
    shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1.0)
    books = StoreBook(
        cost_per_kwh=np.array(
            draw(st.lists(st.floats(0.0, 2.0), min_size=stores, max_size=stores))
        ),
        carbon_g_per_kwh=np.array(
            draw(st.lists(st.floats(0.0, 1_000.0), min_size=stores, max_size=stores))
        ),
        solar_share=shares[:, 0],
        generator_share=shares[:, 1],
        grid_share=shares[:, 2],
    )
    solar = np.array(draw(st.lists(_power, min_size=homes, max_size=homes)))
    generator = np.array(draw(st.lists(_power, min_size=homes, max_size=homes)))
    load = np.array(draw(st.lists(_power, min_size=homes, max_size=homes)))
    storage_flow = np.bincount(home_index, weights=flow, minlength=homes)[:homes]
    return {
        "solar_w": solar,
        "generator_w": generator,
        "consumption_w": load,
        "net_grid_flow_w": load + storage_flow - solar - generator,
        "import_price_per_kwh": _array(draw, st.floats(-0.5, 3.0), homes),
        "export_price_per_kwh": _array(draw, st.floats(-0.5, 1.0), homes),
        "carbon_intensity_g_per_kwh": _array(draw, st.floats(0.0, 1_200.0), homes),
        "store_home_index": home_index,
        "store_level_before_wh": level,
        "store_flow_w": flow,
        "store_efficiency": _array(draw, st.floats(0.5, 1.0), stores),
        "store_driven_wh": driven,
        "books": books,
        "dt_s": dt_s,
    }


def _close(left: np.ndarray, right: np.ndarray, scale: np.ndarray) -> None:
    error = np.abs(left - right)
    assert np.all(error <= 1e-9 * (1.0 + scale)), (left, right)


@settings(max_examples=300, deadline=None)
@given(_ticks())
def test_energy_cost_and_carbon_are_conserved_per_home_and_tick(tick: dict[str, object]) -> None:
    result = ledger_step(**tick)  # type: ignore[arg-type]
    h = result.homes
    to_wh = float(tick["dt_s"]) / 3600.0  # type: ignore[arg-type]
    own_wh = (tick["solar_w"] + tick["generator_w"]) * to_wh  # type: ignore[operator]
    energy_in = own_wh + h.import_wh
    load_wh = tick["consumption_w"] * to_wh  # type: ignore[operator]
    stored_change = h.stored_after_wh - h.stored_before_wh
    energy_out = load_wh + h.export_wh + h.loss_wh + h.driven_wh + stored_change
    _close(energy_in, energy_out, energy_in + h.stored_before_wh)

    cost_change = h.stored_cost_after - h.stored_cost_before
    cost_out = h.load_cost + h.export_cost + h.driven_cost + cost_change
    cost_scale = np.abs(h.import_cost) + np.abs(h.stored_cost_before) + energy_in
    _close(h.import_cost, cost_out, cost_scale * 1e3)

    carbon_change = h.stored_carbon_after_g - h.stored_carbon_before_g
    carbon_out = h.load_carbon_g + h.export_carbon_g + h.driven_carbon_g + carbon_change
    carbon_scale = h.carbon_g + h.stored_carbon_before_g + energy_in
    _close(h.carbon_g, carbon_out, carbon_scale * 1e3)

    # Every store's content is its level times its average, and its origin shares stay shares.
    stored_cost = np.bincount(
        tick["store_home_index"],  # type: ignore[arg-type]
        weights=result.stored_wh / 1000.0 * result.books.cost_per_kwh,
        minlength=h.import_wh.shape[0],
    )
    _close(stored_cost, h.stored_cost_after, cost_scale * 1e3)
    shares = result.books.solar_share + result.books.generator_share + result.books.grid_share
    assert np.all(shares <= 1.0 + 1e-9)
    assert np.all(result.books.solar_share >= 0.0)
    assert np.all(h.carbon_avoided_g >= 0.0)
