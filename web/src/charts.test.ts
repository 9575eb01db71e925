import { describe, expect, it } from 'vitest';
import { CARBON_PAIR, STACKS, costPair, paddedRange, pairSeries, stackedSeries, tickLabels } from './charts';

describe('stackedSeries', () => {
  it('stacks sources upwards and sinks downwards, cumulatively per bucket', () => {
    const bucket = { start: '2026-01-01T00:00:00Z', productionKwh: 2, importKwh: 1, dischargeKwh: 0.5, consumptionKwh: 3, exportKwh: 0.25, chargeKwh: 0.25 };
    const [xs, ...series] = stackedSeries([bucket]);
    expect(xs).toEqual([Date.parse(bucket.start) / 1000]);
    const byLabel = Object.fromEntries(STACKS.map((s, i) => [s.label, series[i][0]]));
    expect(byLabel).toEqual({ Produced: 2, Imported: 3, 'From storage': 3.5, Consumed: -3, Exported: -3.25, 'To storage': -3.5 });
  });
});

describe('pairSeries', () => {
  const buckets = [
    { start: '2026-01-01T00:00:00Z', cost: 0.5, revenue: 0.25, carbonG: 1500, carbonAvoidedG: 250 },
    { start: '2026-01-01T01:00:00Z', cost: 0, revenue: 1, carbonG: 0, carbonAvoidedG: 4000 },
  ];

  it('puts cost first and revenue second, per bucket, in the currency', () => {
    const [xs, cost, revenue] = pairSeries(buckets, costPair('EUR'));
    expect(xs).toEqual([Date.parse('2026-01-01T00:00:00Z') / 1000, Date.parse('2026-01-01T01:00:00Z') / 1000]);
    expect(cost).toEqual([0.5, 0]);
    expect(revenue).toEqual([0.25, 1]);
    expect(costPair('EUR').title).toContain('EUR');
  });

  it('shows carbon in kilograms, emitted first and avoided second', () => {
    const [, emitted, avoided] = pairSeries(buckets, CARBON_PAIR);
    expect(emitted).toEqual([1.5, 0]);
    expect(avoided).toEqual([0.25, 4]);
  });

  it('reads a missing value as nothing, not as a gap', () => {
    const [, cost] = pairSeries([{ ...buckets[0], cost: Number.NaN }], costPair('USD'));
    expect(cost).toEqual([0]);
  });
});

describe('paddedRange', () => {
  it('adds half the smallest step between buckets on each side', () => {
    expect(paddedRange([0, 3600, 10800])).toEqual([-1800, 12600]);
  });

  it('pads a single bucket by half an hour and has no range without buckets', () => {
    expect(paddedRange([7200])).toEqual([5400, 9000]);
    expect(paddedRange([])).toBeNull();
  });
});

describe('tickLabels', () => {
  it('gives small steps the digits that tell them apart', () => {
    expect(tickLabels([0, 0.0002, 0.0004, 0.0006])).toEqual(['0.0000', '0.0002', '0.0004', '0.0006']);
  });
  it('keeps whole steps whole', () => {
    expect(tickLabels([0, 20, 40])).toEqual(['0', '20', '40']);
  });
});
