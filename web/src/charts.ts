// uPlot charts: energy per bucket as stacked bars, a meter's power as a line.
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
    scales: { x: { time: true } },
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
