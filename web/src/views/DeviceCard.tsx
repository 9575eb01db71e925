// A device with its live values and the controls its kind has; each control shows the
// command's lifecycle (pending → sent → acknowledged, failed or expired).
import { useEffect, useRef, useState } from 'preact/hooks';
import { run } from '../api';
import { CommandsDocument, DeleteDeviceDocument, RotateKeyDocument, SendCommandDocument, type CommandFragment, type DeviceFieldsFragment, type LiveFragment, type StoredEnergyQuery } from '../generated/graphql';
import { grams, money, number, percent, time, watts } from '../format';
import { isStale } from '../flow';

const OPEN = new Set(['PENDING', 'SENT']);
const POLL_MS = 1000;
// the kinds whose stored energy the home's ledger books (its simulated stores)
const STORES = new Set(['BATTERY', 'ELECTRIC_VEHICLE']);

function useCommand(deviceId: string) {
  const [command, setCommand] = useState<CommandFragment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);

  async function follow(id: string) {
    const { commands } = await run(CommandsDocument, { deviceId });
    const current = commands.find((c) => c.id === id);
    if (current) setCommand(current);
    if (current && OPEN.has(current.status)) timer.current = setTimeout(() => void follow(id), POLL_MS);
  }

  async function send(name: string, args: Record<string, unknown>) {
    setError(null);
    setCommand(null);
    try {
      const { sendDeviceCommand: answer } = await run(SendCommandDocument, { deviceId, command: name, args }, 'mutation');
      if (answer.__typename === 'OperationInfo') {
        setError(answer.messages.map((m) => m.message).join(' '));
        return;
      }
      setCommand(answer);
      if (OPEN.has(answer.status)) timer.current = setTimeout(() => void follow(answer.id), POLL_MS);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return { command, error, send };
}

function Lifecycle({ command, error }: { command: CommandFragment | null; error: string | null }) {
  return (
    <p class="lifecycle" role="status" aria-live="polite">
      {error && <span class="badge bad">{error}</span>}
      {command && (
        <span class={`badge ${command.status.toLowerCase()}`} data-command-status={command.status}>
          {command.command}: {command.status.toLowerCase()}
        </span>
      )}
    </p>
  );
}

function Controls({ device }: { device: DeviceFieldsFragment }) {
  const { command, error, send } = useCommand(device.id);
  const submit = (build: (form: FormData) => [string, Record<string, unknown>]) => (event: Event) => {
    event.preventDefault();
    const [name, args] = build(new FormData(event.currentTarget as HTMLFormElement));
    void send(name, args);
  };
  let form = null;
  const id = (name: string) => `${name}-${device.id}`;
  if (device.__typename === 'ElectricVehicle') {
    form = (
      <form class="control" onSubmit={submit((f) => ['set_ev_mode', { mode: String(f.get('mode')) }])}>
        <label for={id('mode')}>Mode</label>
        <select id={id('mode')} name="mode">
          {['charging', 'discharging', 'idle', 'offline'].map((m) => (
            <option value={m} selected={m === device.mode.toLowerCase()}>
              {m}
            </option>
          ))}
        </select>
        <button type="submit">Set mode</button>
      </form>
    );
  } else if (device.__typename === 'Heater' || device.__typename === 'AirConditioner') {
    form = (
      <form class="control" onSubmit={submit((f) => ['set_setpoint', { setpoint_c: Number(f.get('setpoint')) }])}>
        <label for={id('setpoint')}>Setpoint °C</label>
        <input id={id('setpoint')} name="setpoint" type="number" step="0.5" defaultValue={String(device.setpointC)} />
        <button type="submit">Set</button>
      </form>
    );
  } else if (device.__typename === 'Battery') {
    form = (
      <form class="control" onSubmit={submit((f) => ['set_battery_reserve', { min_soc: Number(f.get('reserve')) / 100 }])}>
        <label for={id('reserve')}>Reserve %</label>
        <input id={id('reserve')} name="reserve" type="number" min="0" max="99" step="1" defaultValue={String(Math.round(device.minSoc * 100))} />
        <button type="submit">Set</button>
      </form>
    );
  } else if (device.__typename === 'Generator') {
    form = (
      <form class="control" onSubmit={submit(() => ['set_generator_running', { running: !device.running }])}>
        <span>{device.running ? 'Running' : 'Stopped'}</span>
        <button type="submit" aria-pressed={device.running}>
          {device.running ? 'Stop generator' : 'Start generator'}
        </button>
      </form>
    );
  }
  if (!form) return null;
  return (
    <div>
      {form}
      <Lifecycle command={command} error={error} />
    </div>
  );
}

function KeyShownOnce({ deviceId }: { deviceId: string }) {
  const [key, setKey] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function rotate() {
    if (!confirm('Issue a new API key? The current key stops working.')) return;
    try {
      setKey((await run(RotateKeyDocument, { deviceId }, 'mutation')).rotateDeviceApiKey.key);
      setCopied(false);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <div class="apikey">
      {key ? (
        <>
          <p>This key is shown once: store it on the device now.</p>
          <code data-testid="api-key">{key}</code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(key).then(() => setCopied(true))}>
            {copied ? 'Copied' : 'Copy key'}
          </button>
        </>
      ) : (
        <button type="button" onClick={() => void rotate()}>
          New API key
        </button>
      )}
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

export function LiveValues({ live, now }: { live: LiveFragment; now: number }) {
  const stale = isStale(live, now);
  const rows: [string, string][] = [['Power', watts(live.powerW)]];
  if (live.soc !== null) rows.push(['Charge', percent(live.soc)]);
  if (live.flowW !== null) rows.push(['Flow', watts(live.flowW)]);
  if (live.mode) rows.push(['Mode', live.mode]);
  if (live.voltageV !== null) rows.push(['Voltage', number(live.voltageV, 1, 'V')]);
  if (live.currentA !== null) rows.push(['Current', number(live.currentA, 2, 'A')]);
  if (live.frequencyHz !== null) rows.push(['Frequency', number(live.frequencyHz, 1, 'Hz')]);
  return (
    <dl class={`live${stale ? ' stale' : ''}`} data-stale={stale ? 'true' : 'false'}>
      {rows.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd data-live={name.toLowerCase()}>{value}</dd>
        </div>
      ))}
      <div>
        <dt>Updated</dt>
        <dd>
          {time(live.updatedAt)} {stale && <span class="badge warn">stale</span>}
        </dd>
      </div>
    </dl>
  );
}

export type Stored = NonNullable<StoredEnergyQuery['ledger']>['storage'][number];

/** What a store holds: its energy's average cost and carbon per kWh, from the home's ledger. */
function StoredValues({ stored, currency }: { stored: Stored | null; currency: string }) {
  const cost = money(stored?.averageCostPerKwh, currency, 3);
  const stale = stored?.stale ?? true;
  return (
    <dl class={`live stored${stale ? ' stale' : ''}`} aria-label="Stored energy" data-stale={stale ? 'true' : 'false'}>
      <div>
        <dt>Stored cost</dt>
        <dd data-stored="cost">{cost === '—' ? cost : `${cost}/kWh`}</dd>
      </div>
      <div>
        <dt>Stored carbon</dt>
        <dd data-stored="carbon">{grams(stored?.averageCarbonGPerKwh, 'kWh')}</dd>
      </div>
    </dl>
  );
}

export function DeviceCard({ device, live, stored, currency, now, onEdit, onDeleted }: { device: DeviceFieldsFragment; live: LiveFragment; stored: Stored | null; currency: string; now: number; onEdit: () => void; onDeleted: () => void }) {
  const [error, setError] = useState<string | null>(null);
  async function remove() {
    if (!confirm(`Delete ${device.name}?`)) return;
    const { deleteDevice } = await run(DeleteDeviceDocument, { id: device.id }, 'mutation');
    if (deleteDevice.__typename === 'OperationInfo') setError(deleteDevice.messages.map((m) => m.message).join(' '));
    else onDeleted();
  }
  const titleId = `device-${device.id}`;
  return (
    <article class="card" aria-labelledby={titleId} data-device={device.id} data-kind={device.kind}>
      <header>
        <h3 id={titleId}>{device.name}</h3>
        <span class="muted">
          {device.kind.toLowerCase().replace(/_/g, ' ')} · {device.source.toLowerCase()} · <span data-status>{device.status.toLowerCase()}</span>
        </span>
      </header>
      <LiveValues live={live} now={now} />
      {/* shown (blank) before the first answer, so the card does not grow when it arrives */}
      {STORES.has(device.kind) && device.source === 'SIMULATED' && <StoredValues stored={stored} currency={currency} />}
      <Controls device={device} />
      {device.source === 'PHYSICAL' && <KeyShownOnce deviceId={device.id} />}
      <footer>
        {device.kind === 'ENERGY_METER' && <a href={`#/meters/${device.id}`}>Readings</a>}
        <button type="button" onClick={onEdit}>
          Edit
        </button>
        <button type="button" class="danger" onClick={() => void remove()}>
          Delete
        </button>
      </footer>
      {error && <p role="alert">{error}</p>}
    </article>
  );
}
