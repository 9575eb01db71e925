// One home: its live power flow, its devices with live values and controls, its history.
import { useEffect, useState } from 'preact/hooks';
import { client, run } from '../api';
import { flowNodes, isStale } from '../flow';
import { DeleteHomeDocument, DeviceStateLiveDocument, EnergyStatsLiveDocument, HomeDocument, StoredEnergyDocument, type DeviceFieldsFragment, type LiveFragment, type StatsFragment } from '../generated/graphql';
import { percent } from '../format';
import { useClock, useQuery, useSubscription } from '../live';
import { History } from './Charts';
import { DeviceCard, type Stored } from './DeviceCard';
import { FlowDiagram } from './FlowDiagram';
import { NowFigures } from './NowFigures';
import { PlannerPanel } from './Planner';
import { DeviceForm, HomeForm } from './Forms';

function useDeviceStates(devices: DeviceFieldsFragment[]): Record<string, LiveFragment> {
  const [states, setStates] = useState<Record<string, LiveFragment>>({});
  const ids = devices.map((d) => d.id).join(',');
  useEffect(() => {
    setStates(Object.fromEntries(devices.map((d) => [d.id, d.live])));
    const subscriptions = devices.map((d) =>
      client.subscription(DeviceStateLiveDocument, { deviceId: d.id }).subscribe((result) => {
        const state = result.data?.deviceState;
        if (state) setStates((previous) => ({ ...previous, [d.id]: state }));
      }),
    );
    return () => subscriptions.forEach((s) => s.unsubscribe());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids]);
  return states;
}

/** The stores' content with its average cost and carbon, asked again at each tick (`tick`);
 * not asked at all for a home without simulated stores. */
function useStoredEnergy(homeId: string, tick: string | null, hasStores: boolean): Record<string, Stored> {
  const [stored, setStored] = useState<Record<string, Stored>>({});
  useEffect(() => {
    if (!hasStores) return;
    let current = true;
    // the totals of the range are not shown: a minute's range keeps the query cheap
    const to = new Date();
    const from = new Date(to.getTime() - 60_000);
    run(StoredEnergyDocument, { homeId, from: from.toISOString(), to: to.toISOString() })
      .then(({ ledger }) => current && setStored(Object.fromEntries((ledger?.storage ?? []).map((s) => [s.deviceId, s]))))
      .catch(() => undefined); // the cards keep the last values; the next tick asks again
    return () => {
      current = false;
    };
  }, [homeId, tick, hasStores]);
  return stored;
}

export function HomePage({ homeId }: { homeId: string }) {
  const { data, error, reload } = useQuery(HomeDocument, { id: homeId }, homeId);
  const [stats, setStats] = useState<StatsFragment | null>(null);
  const [editing, setEditing] = useState<'home' | 'new-device' | DeviceFieldsFragment | null>(null);
  const now = useClock(1000);
  useEffect(() => setStats(data?.energyStats ?? null), [data]);
  useSubscription(EnergyStatsLiveDocument, { homeId }, (answer) => setStats(answer.energyStats), homeId);
  const devices = data?.home?.devices ?? [];
  const states = useDeviceStates(devices);
  const hasStores = devices.some((d) => d.source === 'SIMULATED' && (d.kind === 'BATTERY' || d.kind === 'ELECTRIC_VEHICLE'));
  const stored = useStoredEnergy(homeId, stats?.timestamp ?? null, hasStores);

  if (error) return <p role="alert">{error}</p>;
  if (!data) return <p aria-busy="true">Loading…</p>;
  if (!data.home) return <p role="alert">No such home.</p>;
  const home = data.home;
  const currency = data.tariff?.currency ?? '';
  const stale = isStale(stats, now);
  const nodes = flowNodes(stats, devices.map((d) => ({ id: d.id, kind: d.kind, live: states[d.id] ?? d.live })));

  async function removeHome() {
    if (!confirm(`Delete ${home.name} and all its devices?`)) return;
    const { deleteHome } = await run(DeleteHomeDocument, { id: home.id }, 'mutation');
    if (deleteHome.__typename !== 'OperationInfo') window.location.hash = '#/';
  }
  const done = () => (setEditing(null), reload());

  return (
    <>
      <div class="title">
        <h1>{home.name}</h1>
        <div class="actions">
          <button type="button" onClick={() => setEditing('home')}>
            Edit home
          </button>
          <button type="button" onClick={() => setEditing('new-device')}>
            Add device
          </button>
          <button type="button" class="danger" onClick={() => void removeHome()}>
            Delete home
          </button>
        </div>
      </div>
      {editing === 'home' && <HomeForm home={home} onDone={done} onCancel={() => setEditing(null)} />}
      {editing === 'new-device' && <DeviceForm homeId={home.id} onDone={done} onCancel={() => setEditing(null)} />}
      {editing && typeof editing === 'object' && <DeviceForm homeId={home.id} device={editing} onDone={done} onCancel={() => setEditing(null)} />}
      <section aria-labelledby="flow-title" class="flow-section">
        <h2 id="flow-title">Power flow</h2>
        <div class="flow-now">
          <FlowDiagram nodes={nodes} stale={stale} consumptionW={stats?.consumptionW ?? null} timestamp={stats?.timestamp ?? null} />
          <NowFigures stats={stats} stale={stale} currency={currency} />
        </div>
        <p class="muted">
          Self-sufficiency <span data-testid="self-sufficiency">{percent(stats?.selfSufficiency)}</span>
          {stats?.storageSoc !== null && stats?.storageSoc !== undefined && <> · storage {percent(stats.storageSoc)}</>}
        </p>
      </section>
      <section aria-labelledby="devices-title">
        <h2 id="devices-title">Devices</h2>
        {devices.length === 0 && <p>No devices yet.</p>}
        <div class="cards">
          {devices.map((d) => (
            <DeviceCard key={d.id} device={d} live={states[d.id] ?? d.live} stored={stored[d.id] ?? null} currency={currency} now={now} onEdit={() => setEditing(d)} onDeleted={reload} />
          ))}
        </div>
      </section>
      <PlannerPanel homeId={home.id} />
      <History homeId={home.id} currency={currency} />
    </>
  );
}
