// Alerts as they are raised and resolved, and each device's alert thresholds.
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { AlertRuleDocument, AlertsDocument, AlertsLiveDocument, DeviceNamesDocument, ResolveAlertDocument, SetAlertRuleDocument, type AlertFieldsFragment, type AlertRuleQuery } from '../generated/graphql';
import { fieldErrors, type FieldErrors } from '../problems';
import { time } from '../format';
import { useQuery, useSubscription } from '../live';
import { Field } from './Field';

type AlertRow = Pick<AlertFieldsFragment, 'id' | 'deviceId' | 'kind' | 'message' | 'severity' | 'raisedAt' | 'resolved'>;

export function Alerts() {
  const { data } = useQuery(AlertsDocument, { resolved: false }, 'alerts');
  const names = useQuery(DeviceNamesDocument, {}, 'device-names');
  const [open, setOpen] = useState<Map<string, AlertRow>>(new Map());
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (data) setOpen((previous) => new Map([...data.alerts.map((a): [string, AlertRow] => [a.id, a]), ...previous]));
  }, [data]);
  useSubscription(
    AlertsLiveDocument,
    {},
    ({ alerts: event }) => {
      if (!event.id) return;
      const id = event.id;
      setOpen((previous) => {
        const next = new Map(previous);
        if (event.resolved) next.delete(id);
        else next.set(id, { id, deviceId: event.deviceId ?? '', kind: (event.kind ?? 'OFFLINE').toUpperCase() as AlertRow['kind'], message: event.message ?? '', severity: (event.severity ?? 'WARNING').toUpperCase() as AlertRow['severity'], raisedAt: event.raisedAt ?? new Date().toISOString(), resolved: false });
        return next;
      });
    },
    'alerts',
  );
  const deviceName = (id: string) => names.data?.devices.edges.find((e) => e.node.id === id)?.node.name ?? `device ${id}`;
  async function resolve(id: string) {
    const { resolveAlert } = await run(ResolveAlertDocument, { id }, 'mutation');
    if (resolveAlert.__typename === 'OperationInfo') return setError(resolveAlert.messages.map((m) => m.message).join(' '));
    setOpen((previous) => {
      const next = new Map(previous);
      next.delete(id);
      return next;
    });
  }
  const rows = [...open.values()].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
  return (
    <>
      <h1>Alerts</h1>
      <section aria-labelledby="open-title" class="panel">
        <h2 id="open-title">Open alerts</h2>
        {error && <p role="alert">{error}</p>}
        {rows.length === 0 ? (
          <p role="status">No open alerts.</p>
        ) : (
          <ul class="alerts" aria-live="polite">
            {rows.map((a) => (
              <li key={a.id} class={`alert ${a.severity.toLowerCase()}`} data-alert={a.id} data-device={a.deviceId}>
                <strong>{a.kind.toLowerCase().replace(/_/g, ' ')}</strong> on {deviceName(a.deviceId)}: {a.message}
                <span class="muted"> · {time(a.raisedAt)}</span>
                <button type="button" onClick={() => void resolve(a.id)} aria-label={`Resolve ${a.kind.toLowerCase()} alert on ${deviceName(a.deviceId)}`}>
                  Resolve
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <RuleEditor devices={names.data?.devices.edges.map((e) => e.node) ?? []} />
    </>
  );
}

const RULE_FIELDS = ['powerMaxW', 'voltageMinV', 'voltageMaxV', 'batteryMinSoc'] as const;
const RULE_LABELS: Record<(typeof RULE_FIELDS)[number], string> = {
  powerMaxW: 'Power above (W)', voltageMinV: 'Voltage below (V)', voltageMaxV: 'Voltage above (V)', batteryMinSoc: 'Battery below (0–1)',
};

function RuleEditor({ devices }: { devices: { id: string; name: string }[] }) {
  const [deviceId, setDeviceId] = useState<string>('');
  const [rule, setRule] = useState<AlertRuleQuery['alertRule'] | undefined>(undefined);
  const [problems, setProblems] = useState<FieldErrors>({ fields: {}, general: [] });
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!deviceId) return;
    setRule(undefined);
    void run(AlertRuleDocument, { deviceId }).then((answer) => setRule(answer.alertRule));
  }, [deviceId]);
  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const input: Record<string, number | boolean | null> = { offline: form.get('offline') === 'on' };
    for (const name of RULE_FIELDS) {
      const raw = String(form.get(name) ?? '').trim();
      input[name] = raw === '' ? null : Number(raw);
    }
    const { setAlertRule } = await run(SetAlertRuleDocument, { deviceId, input }, 'mutation');
    if (setAlertRule.__typename === 'OperationInfo') {
      setSaved(false);
      return setProblems(fieldErrors(setAlertRule.messages, [...RULE_FIELDS, 'offline']));
    }
    setProblems({ fields: {}, general: [] });
    setRule(setAlertRule);
    setSaved(true);
  }
  return (
    <section aria-labelledby="rules-title" class="panel">
      <h2 id="rules-title">Alert rules</h2>
      <label for="rule-device">Device</label>
      <select id="rule-device" value={deviceId} onChange={(e) => (setDeviceId((e.currentTarget as HTMLSelectElement).value), setSaved(false))}>
        <option value="">Choose a device…</option>
        {devices.map((d) => (
          <option value={d.id}>{d.name}</option>
        ))}
      </select>
      {deviceId && rule !== undefined && (
        <form onSubmit={submit} key={deviceId} aria-label="Alert thresholds" novalidate>
          <p class="muted">An empty threshold turns its check off.</p>
          {problems.general.length > 0 && <p role="alert">{problems.general.join(' ')}</p>}
          {RULE_FIELDS.map((name) => (
            <Field key={name} name={name} label={RULE_LABELS[name]} type="number" step="any" value={rule?.[name] ?? null} error={problems.fields[name]} />
          ))}
          <div class="field check">
            <input id="field-offline" name="offline" type="checkbox" defaultChecked={rule?.offline ?? false} />
            <label for="field-offline">Alert when the device goes offline</label>
          </div>
          <button type="submit">Save rule</button>
          {saved && <span role="status"> Saved.</span>}
        </form>
      )}
    </section>
  );
}
