// History: a home's energy, cost and carbon by hour or day, and a meter's readings.
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { run } from '../api';
import { CARBON_PAIR, barsChart, costPair, lineChart, pairChart, type LedgerBucket, type Pair } from '../charts';
import { EnergyHistoryDocument, ReadingsDocument, type HistoryBucket } from '../generated/graphql';

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function useChart(build: (el: HTMLElement, width: number) => uPlot | null, key: string) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const element = ref.current;
    element.textContent = '';
    const width = () => Math.max(280, Math.min(element.clientWidth || 800, 1000));
    const chart = build(element, width());
    // follow the page's width (a phone turned, a window resized), measured outside a tick
    const observer = new ResizeObserver(() => chart && chart.width !== width() && chart.setSize({ width: width(), height: chart.height }));
    observer.observe(element);
    return () => (observer.disconnect(), chart?.destroy());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return ref;
}

function PairChart({ buckets, pair, testId, label }: { buckets: LedgerBucket[] | null; pair: Pair; testId: string; label: string }) {
  const ref = useChart((el, width) => (buckets && buckets.length ? pairChart(el, buckets, pair, width) : null), `${pair.title}${JSON.stringify(buckets)}`);
  return <div ref={ref} class="chart" data-testid={testId} data-buckets={buckets?.length ?? ''} aria-label={label} role="img" />;
}

export function History({ homeId, currency }: { homeId: string; currency: string }) {
  const today = new Date();
  const [range, setRange] = useState({ from: isoDay(new Date(today.getTime() - 86_400_000)), to: isoDay(new Date(today.getTime() + 86_400_000)), bucket: 'HOUR' as HistoryBucket });
  const [buckets, setBuckets] = useState<(Parameters<typeof barsChart>[1][number] & LedgerBucket)[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    run(EnergyHistoryDocument, { homeId, from: `${range.from}T00:00:00Z`, to: `${range.to}T00:00:00Z`, bucket: range.bucket })
      .then((answer) => (setBuckets(answer.energyHistory ?? []), setError(null)))
      .catch((e: Error) => setError(e.message));
  }, [homeId, range.from, range.to, range.bucket]);
  const chart = useChart((el, width) => (buckets && buckets.length ? barsChart(el, buckets, width) : null), JSON.stringify(buckets));
  function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setRange({ from: String(form.get('from')), to: String(form.get('to')), bucket: String(form.get('bucket')) as HistoryBucket });
  }
  return (
    <section aria-labelledby="history-title" class="panel">
      <h2 id="history-title">Energy history</h2>
      <form class="inline" onSubmit={submit}>
        <label>
          From <input type="date" name="from" defaultValue={range.from} />
        </label>
        <label>
          To <input type="date" name="to" defaultValue={range.to} />
        </label>
        <label>
          By
          <select name="bucket">
            <option value="HOUR" selected={range.bucket === 'HOUR'}>
              hour
            </option>
            <option value="DAY" selected={range.bucket === 'DAY'}>
              day
            </option>
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {buckets && buckets.length === 0 && <p>No energy recorded in this range yet.</p>}
      <div ref={chart} class="chart" data-testid="history-chart" data-buckets={buckets?.length ?? ''} aria-label="Energy per bucket, stacked bars" role="img" />
      <PairChart buckets={buckets} pair={costPair(currency)} testId="cost-chart" label={`Import cost and export revenue per bucket in ${currency}, paired bars`} />
      <PairChart buckets={buckets} pair={CARBON_PAIR} testId="carbon-chart" label="Carbon emitted with imports and avoided through own generation per bucket, paired bars" />
    </section>
  );
}

export function MeterReadings({ deviceId }: { deviceId: string }) {
  const [points, setPoints] = useState<{ xs: number[]; ys: number[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [minutes, setMinutes] = useState(60);
  useEffect(() => {
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - minutes * 60_000);
    run(ReadingsDocument, { deviceId, from: from.toISOString(), to: to.toISOString() })
      .then(({ readings }) => setPoints({ xs: readings.map((r) => Date.parse(r.measuredAt) / 1000), ys: readings.map((r) => r.powerW) }))
      .catch((e: Error) => setError(e.message));
  }, [deviceId, minutes]);
  const chart = useChart((el, width) => (points && points.xs.length ? lineChart(el, points.xs, points.ys, 'Power (W)', width) : null), JSON.stringify(points));
  return (
    <section aria-labelledby="readings-title" class="panel">
      <h2 id="readings-title">Meter readings</h2>
      <label>
        Last{' '}
        <select value={String(minutes)} onChange={(e) => setMinutes(Number((e.currentTarget as HTMLSelectElement).value))}>
          <option value="15">15 minutes</option>
          <option value="60">hour</option>
          <option value="1440">day</option>
        </select>
      </label>
      {error && <p role="alert">{error}</p>}
      {points && points.xs.length === 0 && <p>No readings in this range.</p>}
      <div ref={chart} class="chart" data-testid="readings-chart" data-points={points?.xs.length ?? ''} role="img" aria-label="Power over time, line chart" />
    </section>
  );
}
