// The planner panel's arithmetic: a plan's power per interval by kind of device, the
// cumulative savings as a line, the latest decisions and the ranges asked for.
import type { OptimizationObjective } from './generated/graphql';

export const OBJECTIVES: { value: OptimizationObjective; label: string }[] = [
  { value: 'COST', label: 'Lowest cost' },
  { value: 'CARBON', label: 'Lowest carbon' },
  { value: 'SELF_CONSUMPTION', label: 'Most self-consumption' },
];

/** The longest range `savings` and `decisions` answer (the API refuses longer). */
export const MAX_RANGE_DAYS = 31;
/** How far back the decisions table looks. */
export const DECISIONS_HOURS = 6;

export interface PlanLike {
  intervals: { start: string; gridImportW: number | null; gridExportW: number | null }[];
  devices: { kind: string; powerW: (number | null)[] }[];
}

export interface Line {
  label: string;
  colour: string;
  values: (number | null)[];
}

/** The devices a plan line sums, by the API's device kinds. */
export const PLAN_LINES: { label: string; colour: string; kinds: string[] }[] = [
  { label: 'Battery', colour: '#2f9e44', kinds: ['battery'] },
  { label: 'Car', colour: '#1971c2', kinds: ['electric_vehicle'] },
  { label: 'Heating and cooling', colour: '#e8590c', kinds: ['heater', 'air_conditioner'] },
  { label: 'Generator', colour: '#9c36b5', kinds: ['generator'] },
];
export const GRID_LINE = { label: 'Grid (+ import, − export)', colour: '#5c6677' };

/** Interval starts in seconds, and one line per kind the plan has (its devices' powers summed,
 * + drawing) and the grid's net import; an interval nothing is known of stays a gap. */
export function planSeries(plan: PlanLike): { xs: number[]; lines: Line[] } {
  const xs = plan.intervals.map((row) => Date.parse(row.start) / 1000);
  const lines: Line[] = [];
  for (const line of PLAN_LINES) {
    const devices = plan.devices.filter((d) => line.kinds.includes(d.kind));
    if (!devices.length) continue;
    const values = xs.map((_, t) => {
      const known = devices.map((d) => d.powerW[t]).filter((v): v is number => v !== null && v !== undefined);
      return known.length ? known.reduce((a, b) => a + b, 0) : null;
    });
    lines.push({ label: line.label, colour: line.colour, values });
  }
  const grid = plan.intervals.map((row) => (row.gridImportW === null || row.gridExportW === null ? null : row.gridImportW - row.gridExportW));
  lines.push({ ...GRID_LINE, values: grid });
  return { xs, lines };
}

export interface SavingsHour {
  start: string;
  cumulativeCostSaved: number;
  cumulativeCarbonSavedG: number;
}

/** The running totals at each covered hour's end, from zero at the first hour's start:
 * [seconds, cost saved (currency), carbon saved (kg)]. */
export function savingsSeries(hourly: SavingsHour[]): [number[], number[], number[]] {
  if (!hourly.length) return [[], [], []];
  const xs = [Date.parse(hourly[0].start) / 1000, ...hourly.map((h) => Date.parse(h.start) / 1000 + 3600)];
  return [xs, [0, ...hourly.map((h) => h.cumulativeCostSaved)], [0, ...hourly.map((h) => h.cumulativeCarbonSavedG / 1000)]];
}

/** The newest `count` decisions first (the API answers them oldest first). */
export function latestFirst<T extends { intervalStart: string }>(decisions: T[], count: number): T[] {
  return [...decisions].sort((a, b) => Date.parse(b.intervalStart) - Date.parse(a.intervalStart)).slice(0, count);
}

/** The savings range: from the goal's setting (at most `MAX_RANGE_DAYS` back) to a minute
 * ahead of `now`, so the tick in progress is inside. */
export function savingsRange(goalSetAt: string, now: number): { from: string; to: string } {
  const to = now + 60_000;
  const earliest = to - MAX_RANGE_DAYS * 86_400_000 + 60_000;
  return { from: new Date(Math.max(Date.parse(goalSetAt), earliest)).toISOString(), to: new Date(to).toISOString() };
}

/** The decisions range: the last `DECISIONS_HOURS` hours and the interval in progress. */
export function decisionsRange(now: number): { from: string; to: string } {
  return { from: new Date(now - DECISIONS_HOURS * 3_600_000).toISOString(), to: new Date(now + 15 * 60_000).toISOString() };
}
