// Add and edit homes and devices; the API's OperationInfo messages land on their fields.
import { useState } from 'preact/hooks';
import type { TypedDocumentNode } from '@urql/core';
import { run } from '../api';
import {
  CreateAirConditionerDocument, CreateBatteryDocument, CreateElectricVehicleDocument, CreateEnergyMeterDocument,
  CreateGeneratorDocument, CreateHeaterDocument, CreateHomeDocument, CreateSolarPanelDocument, UpdateDeviceDocument,
  UpdateHomeDocument, type DeviceFieldsFragment, type DeviceKind, type HomeFieldsFragment, type ProblemsFragment,
} from '../generated/graphql';
import { fieldErrors, type FieldErrors } from '../problems';
import { Field } from './Field';

interface Spec {
  name: string;
  label: string;
  type: 'text' | 'number' | 'checkbox';
  required?: boolean;
  hint?: string;
}

const HOME_FIELDS: Spec[] = [
  { name: 'name', label: 'Name', type: 'text', required: true },
  { name: 'latitude', label: 'Latitude', type: 'number', required: true, hint: '-90 to 90' },
  { name: 'longitude', label: 'Longitude', type: 'number', required: true, hint: '-180 to 180' },
  { name: 'timezone', label: 'Time zone', type: 'text', required: true, hint: 'IANA name, e.g. Europe/Berlin' },
  { name: 'baseLoadW', label: 'Base load (W)', type: 'number' },
];

export const DEVICE_FIELDS: Record<DeviceKind, Spec[]> = {
  SOLAR_PANEL: [
    { name: 'panelAreaM2', label: 'Panel area (m²)', type: 'number', required: true },
    { name: 'ratedPowerW', label: 'Rated power (W)', type: 'number', required: true },
    { name: 'efficiency', label: 'Efficiency (0–1)', type: 'number' },
    { name: 'tiltDeg', label: 'Tilt (°)', type: 'number' },
    { name: 'azimuthDeg', label: 'Azimuth (°)', type: 'number' },
  ],
  GENERATOR: [{ name: 'ratedPowerW', label: 'Rated power (W)', type: 'number', required: true }],
  BATTERY: [
    { name: 'capacityWh', label: 'Capacity (Wh)', type: 'number', required: true },
    { name: 'maxChargeW', label: 'Max charge (W)', type: 'number', required: true },
    { name: 'maxDischargeW', label: 'Max discharge (W)', type: 'number', required: true },
    { name: 'minSoc', label: 'Reserve (0–1)', type: 'number' },
  ],
  ELECTRIC_VEHICLE: [
    { name: 'batteryCapacityWh', label: 'Battery capacity (Wh)', type: 'number', required: true },
    { name: 'maxChargeW', label: 'Max charge (W)', type: 'number', required: true },
    { name: 'targetSoc', label: 'Target charge (0–1)', type: 'number' },
  ],
  HEATER: [
    { name: 'ratedPowerW', label: 'Rated power (W)', type: 'number', required: true },
    { name: 'setpointC', label: 'Setpoint (°C)', type: 'number' },
  ],
  AIR_CONDITIONER: [
    { name: 'ratedPowerW', label: 'Rated power (W)', type: 'number', required: true },
    { name: 'setpointC', label: 'Setpoint (°C)', type: 'number' },
  ],
  ENERGY_METER: [{ name: 'reportingIntervalS', label: 'Reporting interval (s)', type: 'number' }],
};

export const KIND_LABELS: Record<DeviceKind, string> = {
  SOLAR_PANEL: 'Solar panel', GENERATOR: 'Generator', BATTERY: 'Battery', ELECTRIC_VEHICLE: 'Electric vehicle',
  HEATER: 'Heater', AIR_CONDITIONER: 'Air conditioner', ENERGY_METER: 'Energy meter',
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const CREATE: Record<DeviceKind, TypedDocumentNode<any, any>> = {
  SOLAR_PANEL: CreateSolarPanelDocument, GENERATOR: CreateGeneratorDocument, BATTERY: CreateBatteryDocument,
  ELECTRIC_VEHICLE: CreateElectricVehicleDocument, HEATER: CreateHeaterDocument, AIR_CONDITIONER: CreateAirConditionerDocument,
  ENERGY_METER: CreateEnergyMeterDocument,
};

/** The form's values typed for the API: empty optional fields are left out (the default). */
export function readForm(form: FormData, specs: Spec[], partial: boolean): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const spec of specs) {
    const raw = String(form.get(spec.name) ?? '').trim();
    if (raw === '' && (partial || !spec.required)) continue;
    values[spec.name] = spec.type === 'number' ? (raw === '' ? null : Number(raw)) : raw;
  }
  return values;
}

function useProblems() {
  const [problems, setProblems] = useState<FieldErrors>({ fields: {}, general: [] });
  return { problems, setProblems, none: () => setProblems({ fields: {}, general: [] }) };
}

function General({ problems }: { problems: FieldErrors }) {
  if (!problems.general.length && !Object.keys(problems.fields).length) return null;
  return (
    <p role="alert" class="error">
      {problems.general.length ? problems.general.join(' ') : 'Please correct the fields marked below.'}
    </p>
  );
}

function problemsOf(payload: { __typename?: string } & Partial<ProblemsFragment>, specs: Spec[]): FieldErrors | null {
  return payload.__typename === 'OperationInfo' ? fieldErrors(payload.messages ?? [], specs.map((s) => s.name)) : null;
}

export function HomeForm({ home, onDone, onCancel }: { home?: HomeFieldsFragment; onDone: (id: string) => void; onCancel: () => void }) {
  const { problems, setProblems, none } = useProblems();
  async function submit(event: Event) {
    event.preventDefault();
    const input = readForm(new FormData(event.currentTarget as HTMLFormElement), HOME_FIELDS, Boolean(home));
    try {
      const payload = home
        ? (await run(UpdateHomeDocument, { id: home.id, input }, 'mutation')).updateHome
        : // eslint-disable-next-line @typescript-eslint/no-explicit-any
          (await run(CreateHomeDocument, { input: input as any }, 'mutation')).createHome;
      const found = problemsOf(payload, HOME_FIELDS);
      if (found) return setProblems(found);
      none();
      if (payload.__typename === 'Home') onDone(payload.id);
    } catch (e) {
      setProblems({ fields: {}, general: [(e as Error).message] });
    }
  }
  return (
    <form class="panel" onSubmit={submit} aria-label={home ? 'Edit home' : 'Add a home'} novalidate>
      <h2>{home ? `Edit ${home.name}` : 'Add a home'}</h2>
      <General problems={problems} />
      {HOME_FIELDS.map((s) => (
        <Field key={s.name} label={s.label} name={s.name} type={s.type} step="any" required={s.required && !home} hint={s.hint} value={home ? (home as unknown as Record<string, string | number>)[s.name] : s.name === 'timezone' ? Intl.DateTimeFormat().resolvedOptions().timeZone : undefined} error={problems.fields[s.name]} />
      ))}
      <div class="actions">
        <button type="submit">{home ? 'Save' : 'Add home'}</button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function DeviceForm({ homeId, device, onDone, onCancel }: { homeId: string; device?: DeviceFieldsFragment; onDone: () => void; onCancel: () => void }) {
  const { problems, setProblems, none } = useProblems();
  const [kind, setKind] = useState<DeviceKind>(device?.kind ?? 'SOLAR_PANEL');
  const specs: Spec[] = [{ name: 'name', label: 'Name', type: 'text', required: true }, ...DEVICE_FIELDS[kind]];
  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const values = readForm(form, specs, Boolean(device));
    try {
      let payload: { __typename?: string } & Partial<ProblemsFragment>;
      if (device) {
        payload = (await run(UpdateDeviceDocument, { id: device.id, input: values }, 'mutation')).updateDevice;
      } else {
        // meters are real hardware; everything else is simulated by the farm
        const source = kind === 'ENERGY_METER' ? 'PHYSICAL' : 'SIMULATED';
        const answer = await run(CREATE[kind], { input: { ...values, homeId, source } }, 'mutation');
        payload = Object.values(answer)[0] as typeof payload;
      }
      const found = problemsOf(payload, specs);
      if (found) return setProblems(found);
      none();
      onDone();
    } catch (e) {
      setProblems({ fields: {}, general: [(e as Error).message] });
    }
  }
  const current = device as unknown as Record<string, string | number> | undefined;
  return (
    <form class="panel" onSubmit={submit} aria-label={device ? 'Edit device' : 'Add a device'} novalidate key={kind}>
      <h2>{device ? `Edit ${device.name}` : 'Add a device'}</h2>
      <General problems={problems} />
      {!device && (
        <div class="field">
          <label for="field-kind">Kind</label>
          <select id="field-kind" name="kind" onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as DeviceKind)}>
            {(Object.keys(KIND_LABELS) as DeviceKind[]).map((k) => (
              <option value={k} selected={k === kind}>
                {KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </div>
      )}
      {specs.map((s) => (
        <Field key={s.name} label={s.label} name={s.name} type={s.type} step="any" required={s.required && !device} hint={s.hint} value={current?.[s.name]} error={problems.fields[s.name]} />
      ))}
      <div class="actions">
        <button type="submit">{device ? 'Save' : 'Add device'}</button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
