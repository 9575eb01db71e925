// The caller's homes at a glance, with the live total.
import { useState } from 'preact/hooks';
import { EnergyStatsLiveDocument, HomesDocument, type StatsFragment } from '../generated/graphql';
import { isStale } from '../flow';
import { percent, watts } from '../format';
import { useClock, useQuery, useSubscription } from '../live';
import { HomeForm } from './Forms';

export function Homes() {
  const { data, error, reload } = useQuery(HomesDocument, {}, 'homes');
  const [total, setTotal] = useState<StatsFragment | null>(null);
  const [adding, setAdding] = useState(false);
  const now = useClock(1000);
  useSubscription(EnergyStatsLiveDocument, {}, (answer) => setTotal(answer.energyStats), 'total');
  const stats = total ?? data?.energyStats ?? null;
  const stale = isStale(stats, now);
  if (error) return <p role="alert">{error}</p>;
  return (
    <>
      <div class="title">
        <h1>Homes</h1>
        <button type="button" onClick={() => setAdding(true)}>
          Add home
        </button>
      </div>
      {adding && <HomeForm onDone={(id) => (setAdding(false), reload(), (window.location.hash = `#/homes/${id}`))} onCancel={() => setAdding(false)} />}
      <section aria-labelledby="total-title" class={`panel totals${stale ? ' stale' : ''}`} data-stale={stale ? 'true' : 'false'}>
        <h2 id="total-title">All homes now {stale && <span class="badge warn">stale</span>}</h2>
        <dl class="live">
          <div><dt>Production</dt><dd data-total="production">{watts(stats?.productionW)}</dd></div>
          <div><dt>Consumption</dt><dd data-total="consumption">{watts(stats?.consumptionW)}</dd></div>
          <div><dt>Grid</dt><dd data-total="grid">{watts(stats?.netGridFlowW)}</dd></div>
          <div><dt>Self-sufficiency</dt><dd>{percent(stats?.selfSufficiency)}</dd></div>
        </dl>
      </section>
      {!data ? (
        <p aria-busy="true">Loading…</p>
      ) : data.homes.length === 0 ? (
        <p>No homes yet: add one.</p>
      ) : (
        <ul class="cards" aria-label="Your homes">
          {data.homes.map((h) => (
            <li key={h.id} class="card">
              <h2>
                <a href={`#/homes/${h.id}`}>{h.name}</a>
              </h2>
              <p class="muted">
                {h.devices.length} devices · {h.timezone}
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
