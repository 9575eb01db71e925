import { describe, expect, it } from 'vitest';
import { flowNodes, isStale, type FlowDevice } from './flow';

const live = (values: Partial<FlowDevice['live']>): FlowDevice['live'] => ({ powerW: null, levelWh: null, flowW: null, soc: null, mode: null, stale: false, validUntil: null, ...values });
const stats = (netGridFlowW: number | null) => ({ productionW: 0, consumptionW: 0, storageFlowW: 0, netGridFlowW, stale: false, validUntil: null });

describe('flowNodes', () => {
  const devices: FlowDevice[] = [
    { id: '1', kind: 'SOLAR_PANEL', live: live({ powerW: 1200 }) },
    { id: '2', kind: 'SOLAR_PANEL', live: live({ powerW: 300 }) },
    { id: '3', kind: 'BATTERY', live: live({ flowW: -500, soc: 0.4, levelWh: 4000 }) },
    { id: '4', kind: 'ELECTRIC_VEHICLE', live: live({ flowW: 2000, soc: 0.7, mode: 'charging' }) },
  ];

  it('sums each kind and points arrows by the sign convention', () => {
    const nodes = Object.fromEntries(flowNodes(stats(-700), devices).map((n) => [n.key, n]));
    expect(nodes.solar).toMatchObject({ powerW: 1500, direction: 'in', present: true });
    // storage flow < 0 discharges: into the house
    expect(nodes.battery).toMatchObject({ powerW: 500, direction: 'in', soc: 0.4, levelWh: 4000 });
    expect(nodes.ev).toMatchObject({ powerW: 2000, direction: 'out', soc: 0.7, mode: 'charging' });
    // net grid flow < 0 exports
    expect(nodes.grid).toMatchObject({ powerW: 700, direction: 'out' });
    expect(nodes.generator.present).toBe(false);
  });

  it('shows unknown values as unknown and idle flows without direction', () => {
    const nodes = Object.fromEntries(flowNodes(null, [{ id: '5', kind: 'HEATER', live: live({ powerW: 0.2 }) }]).map((n) => [n.key, n]));
    expect(nodes.grid).toMatchObject({ powerW: null, direction: 'none' });
    expect(nodes.climate).toMatchObject({ direction: 'none', present: true });
  });
});

describe('isStale', () => {
  it('is stale when flagged, without a deadline, or past it', () => {
    const at = Date.parse('2026-01-01T00:00:10Z');
    expect(isStale({ stale: false, validUntil: '2026-01-01T00:00:11Z' }, at)).toBe(false);
    expect(isStale({ stale: false, validUntil: '2026-01-01T00:00:09Z' }, at)).toBe(true);
    expect(isStale({ stale: true, validUntil: '2026-01-01T00:00:11Z' }, at)).toBe(true);
    expect(isStale({ stale: false, validUntil: null }, at)).toBe(true);
    expect(isStale(null, at)).toBe(true);
  });
});
