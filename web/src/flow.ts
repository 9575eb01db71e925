// The power-flow diagram's model: one node per kind of source or sink around the house, each
// with its power and the direction its arrow points. Pure, so it is unit tested.
import type { DeviceKind } from './generated/graphql';

export interface LiveValues {
  powerW: number | null;
  levelWh: number | null;
  flowW: number | null;
  soc: number | null;
  mode: string | null;
  stale: boolean;
  validUntil: string | null;
}

export interface FlowDevice {
  id: string;
  kind: DeviceKind;
  live: LiveValues;
}

export interface FlowStats {
  productionW: number | null;
  consumptionW: number | null;
  storageFlowW: number | null;
  netGridFlowW: number | null;
  stale: boolean;
  validUntil: string | null;
}

export type Direction = 'in' | 'out' | 'none';

export interface FlowNode {
  key: 'solar' | 'generator' | 'battery' | 'ev' | 'climate' | 'meters' | 'grid';
  label: string;
  /** Power along the arrow [W], ≥ 0; null when unknown. */
  powerW: number | null;
  /** 'in': towards the house, 'out': away from it. */
  direction: Direction;
  soc: number | null;
  /** Stored energy [Wh] (storage nodes). */
  levelWh: number | null;
  mode: string | null;
  present: boolean;
}

/** Below this many watts an arrow does not move. */
export const IDLE_W = 1;

function sum(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null && v !== undefined);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

function direction(signed: number | null, positiveIs: Direction): Direction {
  if (signed === null || Math.abs(signed) < IDLE_W) return 'none';
  const flip: Direction = positiveIs === 'in' ? 'out' : 'in';
  return signed > 0 ? positiveIs : flip;
}

function node(key: FlowNode['key'], label: string, signed: number | null, positiveIs: Direction, present: boolean, extra: Partial<FlowNode> = {}): FlowNode {
  return { key, label, powerW: signed === null ? null : Math.abs(signed), direction: direction(signed, positiveIs), soc: null, levelWh: null, mode: null, present, ...extra };
}

export function flowNodes(stats: FlowStats | null, devices: FlowDevice[]): FlowNode[] {
  const of = (...kinds: DeviceKind[]) => devices.filter((d) => kinds.includes(d.kind));
  const solar = of('SOLAR_PANEL');
  const generators = of('GENERATOR');
  const batteries = of('BATTERY');
  const evs = of('ELECTRIC_VEHICLE');
  const climate = of('HEATER', 'AIR_CONDITIONER');
  const meters = of('ENERGY_METER');
  const socOf = (list: FlowDevice[]) => (list.length === 1 ? list[0].live.soc : null);
  return [
    node('solar', 'Solar', sum(solar.map((d) => d.live.powerW)), 'in', solar.length > 0),
    node('generator', 'Generator', sum(generators.map((d) => d.live.powerW)), 'in', generators.length > 0),
    // storage flow > 0 charges: power leaves the house
    node('battery', 'Battery', sum(batteries.map((d) => d.live.flowW)), 'out', batteries.length > 0, {
      soc: socOf(batteries),
      levelWh: sum(batteries.map((d) => d.live.levelWh)),
    }),
    node('ev', 'Electric vehicle', sum(evs.map((d) => d.live.flowW)), 'out', evs.length > 0, {
      soc: socOf(evs),
      levelWh: sum(evs.map((d) => d.live.levelWh)),
      mode: evs.length === 1 ? evs[0].live.mode : null,
    }),
    node('climate', 'Heating & cooling', sum(climate.map((d) => d.live.powerW)), 'out', climate.length > 0),
    node('meters', 'Meters', sum(meters.map((d) => d.live.powerW)), 'out', meters.length > 0),
    // net grid flow > 0 imports: power comes into the house
    node('grid', 'Grid', stats?.netGridFlowW ?? null, 'in', true),
  ];
}

/** Whether values valid until `validUntil` are stale at `nowMs` (or flagged stale already). */
export function isStale(value: { stale: boolean; validUntil: string | null } | null, nowMs: number): boolean {
  if (!value || value.stale || !value.validUntil) return true;
  return Date.parse(value.validUntil) < nowMs;
}
