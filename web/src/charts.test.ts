import { describe, expect, it } from 'vitest';
import { STACKS, stackedSeries } from './charts';

describe('stackedSeries', () => {
  it('stacks sources upwards and sinks downwards, cumulatively per bucket', () => {
    const bucket = { start: '2026-01-01T00:00:00Z', productionKwh: 2, importKwh: 1, dischargeKwh: 0.5, consumptionKwh: 3, exportKwh: 0.25, chargeKwh: 0.25 };
    const [xs, ...series] = stackedSeries([bucket]);
    expect(xs).toEqual([Date.parse(bucket.start) / 1000]);
    const byLabel = Object.fromEntries(STACKS.map((s, i) => [s.label, series[i][0]]));
    expect(byLabel).toEqual({ Produced: 2, Imported: 3, 'From storage': 3.5, Consumed: -3, Exported: -3.25, 'To storage': -3.5 });
  });
});
