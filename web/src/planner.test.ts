import { describe, expect, it } from 'vitest';
import { GRID_LINE, MAX_RANGE_DAYS, decisionsRange, latestFirst, planSeries, savingsRange, savingsSeries } from './planner';

const T0 = '2026-06-10T10:00:00Z';
const T1 = '2026-06-10T10:15:00Z';

describe('planSeries', () => {
  it('sums the devices of a kind and nets the grid, per interval', () => {
    const plan = {
      intervals: [
        { start: T0, gridImportW: 3000, gridExportW: 0 },
        { start: T1, gridImportW: 0, gridExportW: 1200 },
      ],
      devices: [
        { kind: 'battery', powerW: [1000, -500] },
        { kind: 'battery', powerW: [500, null] },
        { kind: 'heater', powerW: [2000, 0] },
        { kind: 'air_conditioner', powerW: [null, 800] },
        { kind: 'solar_panel', powerW: [9, 9] },
      ],
    };
    const { xs, lines } = planSeries(plan);
    expect(xs).toEqual([Date.parse(T0) / 1000, Date.parse(T1) / 1000]);
    const byLabel = Object.fromEntries(lines.map((l) => [l.label, l.values]));
    expect(byLabel).toEqual({ Battery: [1500, -500], 'Heating and cooling': [2000, 800], [GRID_LINE.label]: [3000, -1200] });
  });

  it('leaves a gap where nothing is known and draws no line for a kind the home lacks', () => {
    const plan = { intervals: [{ start: T0, gridImportW: null, gridExportW: 0 }], devices: [{ kind: 'electric_vehicle', powerW: [null] }] };
    const { lines } = planSeries(plan);
    expect(lines.map((l) => [l.label, l.values])).toEqual([
      ['Car', [null]],
      [GRID_LINE.label, [null]],
    ]);
  });
});

describe('savingsSeries', () => {
  it('starts at zero and gives each hour its running total at the hour end, carbon in kg', () => {
    const hourly = [
      { start: T0, cumulativeCostSaved: 0.25, cumulativeCarbonSavedG: 300 },
      { start: '2026-06-10T12:00:00Z', cumulativeCostSaved: 0.5, cumulativeCarbonSavedG: 1500 },
    ];
    const [xs, cost, carbon] = savingsSeries(hourly);
    const t0 = Date.parse(T0) / 1000;
    expect(xs).toEqual([t0, t0 + 3600, t0 + 3 * 3600]);
    expect(cost).toEqual([0, 0.25, 0.5]);
    expect(carbon).toEqual([0, 0.3, 1.5]);
  });

  it('is empty without hours', () => {
    expect(savingsSeries([])).toEqual([[], [], []]);
  });
});

describe('latestFirst', () => {
  it('puts the newest first and keeps the count', () => {
    const rows = [{ intervalStart: T0, id: 'a' }, { intervalStart: T1, id: 'b' }, { intervalStart: T1, id: 'c' }];
    expect(latestFirst(rows, 2).map((r) => r.id)).toEqual(['b', 'c']);
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('ranges', () => {
  const now = Date.parse('2026-06-10T12:00:00Z');

  it('asks for savings from the goal on, a minute ahead of now', () => {
    expect(savingsRange('2026-06-09T08:30:00Z', now)).toEqual({ from: '2026-06-09T08:30:00.000Z', to: '2026-06-10T12:01:00.000Z' });
  });

  it('never asks for more than the API allows', () => {
    const { from, to } = savingsRange('2025-01-01T00:00:00Z', now);
    expect(Date.parse(to) - Date.parse(from)).toBeLessThan(MAX_RANGE_DAYS * 86_400_000);
  });

  it('asks for the decisions of the last hours and the interval in progress', () => {
    expect(decisionsRange(now)).toEqual({ from: '2026-06-10T06:00:00.000Z', to: '2026-06-10T12:15:00.000Z' });
  });
});
