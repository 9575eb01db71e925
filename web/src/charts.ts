// uPlot charts: energy per bucket as stacked bars, cost and carbon per bucket as paired bars, a
// meter's power as a line.
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Bucket {
  start: string;
  productionKwh: number;
  consumptionKwh: number;
  importKwh: number;
  exportKwh: number;
  chargeKwh: number;
  dischargeKwh: number;
}

export interface LedgerBucket {
  start: string;
  cost: number;
  revenue: number;
  carbonG: number;
  carbonAvoidedG: number;
}

/** Two quantities of each bucket side by side: what the home paid and earned, emitted and avoided. */
export interface Pair {
  title: string;
  unit: string;
  first: { key: keyof Omit<LedgerBucket, 'start'>; label: string; colour: string };
  second: { key: keyof Omit<LedgerBucket, 'start'>; label: string; colour: string };
  /** A bucket's value is multiplied by this (grams shown as kilograms). */
  scale: number;
}

export function costPair(currency: string): Pair {
  return {
    title: `Cost and revenue (${currency})`,
    unit: currency,
    first: { key: 'cost', label: 'Import cost', colour: '#c92a2a' },
    second: { key: 'revenue', label: 'Export revenue', colour: '#2b8a3e' },
    scale: 1,
  };
}

export const CARBON_PAIR: Pair = {
  title: 'Carbon (kg CO₂e)',
  unit: 'kg CO₂e',
  first: { key: 'carbonG', label: 'Emitted by imports', colour: '#5c6677' },
  second: { key: 'carbonAvoidedG', label: 'Avoided by own generation', colour: '#66a80f' },
  scale: 0.001,
};

/** Times in seconds and the pair's two series, a missing value as 0. */
export function pairSeries(buckets: LedgerBucket[], pair: Pair): [number[], number[], number[]] {
  const value = (b: LedgerBucket, key: Pair['first']['key']) => (Number(b[key]) || 0) * pair.scale;
  return [buckets.map((b) => Date.parse(b.start) / 1000), buckets.map((b) => value(b, pair.first.key)), buckets.map((b) => value(b, pair.second.key))];
}

/** Where energy came from (up) and went (down), each stack summed so bars sit on each other. */
export const STACKS: { key: keyof Bucket; label: string; sign: 1 | -1; colour: string }[] = [
  { key: 'productionKwh', label: 'Produced', sign: 1, colour: '#f2b705' },
  { key: 'importKwh', label: 'Imported', sign: 1, colour: '#7b8794' },
  { key: 'dischargeKwh', label: 'From storage', sign: 1, colour: '#2f9e44' },
  { key: 'consumptionKwh', label: 'Consumed', sign: -1, colour: '#1971c2' },
  { key: 'exportKwh', label: 'Exported', sign: -1, colour: '#9c36b5' },
  { key: 'chargeKwh', label: 'To storage', sign: -1, colour: '#66a80f' },
];

/** Cumulative series per stack: each series is the top edge of its bar segment. */
export function stackedSeries(buckets: Bucket[]): AlignedData {
  const xs = buckets.map((b) => Date.parse(b.start) / 1000);
  const up = new Array<number>(buckets.length).fill(0);
  const down = new Array<number>(buckets.length).fill(0);
  const series = STACKS.map((stack) =>
    buckets.map((b, i) => {
      const value = Number(b[stack.key]) || 0;
      if (stack.sign > 0) return (up[i] += value);
      return (down[i] -= value);
    }),
  );
  return [xs, ...series];
}

export function barsChart(target: HTMLElement, buckets: Bucket[], width: number): uPlot {
  const bars = uPlot.paths.bars!({ size: [0.7, 60] });
  // draw the taller (cumulative) series first so the shorter ones paint over them
  const order = [2, 1, 0, 5, 4, 3];
  const data = stackedSeries(buckets);
  const options: Options = {
    width,
    height: 280,
    title: 'Energy (kWh)',
    // as the cost and carbon charts: a lone bucket is a bar, not a point in years of axis
    scales: { x: { time: true, range: (_u, min, max) => paddedRange(data[0] as number[]) ?? [min, max] } },
    axes: [{}, { label: 'kWh' }],
    series: [{}, ...order.map((i) => ({ label: STACKS[i].label, fill: STACKS[i].colour, stroke: STACKS[i].colour, paths: bars, points: { show: false } }))],
  };
  return new uPlot(options, [data[0], ...order.map((i) => data[i + 1])] as AlignedData, target);
}

export function lineChart(target: HTMLElement, xs: number[], ys: number[], label: string, width: number): uPlot {
  const options: Options = {
    width,
    height: 260,
    title: label,
    scales: { x: { time: true } },
    series: [{}, { label, stroke: '#1971c2', width: 2, points: { show: false } }],
  };
  return new uPlot(options, [xs, ys], target);
}

/** The x range with half a bucket either side, so the first and last buckets' bars are whole. */
export function paddedRange(xs: number[]): [number, number] | null {
  if (xs.length === 0) return null;
  let step = Infinity;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[i - 1]) step = Math.min(step, xs[i] - xs[i - 1]);
  const half = (Number.isFinite(step) ? step : 3600) / 2;
  return [xs[0] - half, xs[xs.length - 1] + half];
}

export function pairChart(target: HTMLElement, buckets: LedgerBucket[], pair: Pair, width: number): uPlot {
  // the first bar left of the bucket's start, the second right of it
  const left = uPlot.paths.bars!({ size: [0.35, 30], align: -1 });
  const right = uPlot.paths.bars!({ size: [0.35, 30], align: 1 });
  const data = pairSeries(buckets, pair);
  const options: Options = {
    width,
    height: 240,
    title: pair.title,
    scales: { x: { time: true, range: (_u, min, max) => paddedRange(data[0]) ?? [min, max] } },
    axes: [{}, { label: pair.unit }],
    series: [
      {},
      { label: pair.first.label, fill: pair.first.colour, stroke: pair.first.colour, paths: left, points: { show: false } },
      { label: pair.second.label, fill: pair.second.colour, stroke: pair.second.colour, paths: right, points: { show: false } },
    ],
  };
  return new uPlot(options, data, target);
}

/** Axis labels with the digits their spacing needs: uPlot's own rounded a running total of
 * 0.0002-apart ticks to "0.001, 0, 0". */
export function tickLabels(ticks: number[]): string[] {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(ticks[0] ?? 0);
  const digits = step > 0 && step < 1 ? Math.min(8, Math.ceil(-Math.log10(step))) : 0;
  return ticks.map((v) => v.toFixed(digits));
}

/** One y axis of a lines chart: its scale's name, label, and side (3 left, 1 right). */
export interface Axis {
  scale: string;
  label: string;
  side: 1 | 3;
}

/** Lines over time, each on its axis' scale; `stepped` holds each value over its interval (a
 * plan's setpoints), otherwise points are joined (running totals). */
export function linesChart(
  target: HTMLElement,
  xs: number[],
  lines: { label: string; colour: string; values: (number | null)[]; scale: string }[],
  options: { title: string; axes: Axis[]; stepped: boolean; width: number },
): uPlot {
  const paths = options.stepped ? uPlot.paths.stepped!({ align: 1 }) : undefined;
  const settings: Options = {
    width: options.width,
    height: 260,
    title: options.title,
    scales: { x: { time: true } },
    axes: [{}, ...options.axes.map((a) => ({ scale: a.scale, label: a.label, side: a.side, grid: { show: a.side === 3 }, size: 70, values: (_u: uPlot, ticks: number[]) => tickLabels(ticks) }))],
    series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.colour, width: 2, scale: l.scale, paths, points: { show: false } }))],
  };
  return new uPlot(settings, [xs, ...lines.map((l) => l.values)] as AlignedData, target);
}
