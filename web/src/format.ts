// Numbers as the dashboard shows them.
export function watts(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1_000_000) return `${(value / 1_000_000).toFixed(2)} MW`;
  if (abs >= 1000) return `${(value / 1000).toFixed(2)} kW`;
  return `${Math.round(value)} W`;
}

export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return `${Math.round(value * 100)} %`;
}

export function number(value: number | null | undefined, digits = 1, unit = ''): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

export function time(value: string | null | undefined): string {
  if (!value) return '—';
  return new Date(value).toLocaleTimeString();
}

/** Stored energy, to the watt-hour: it moves visibly with every tick of a charging store. */
export function kwh(valueWh: number | null | undefined): string {
  if (valueWh === null || valueWh === undefined || Number.isNaN(valueWh)) return '—';
  return `${(valueWh / 1000).toFixed(3)} kWh`;
}

/** An amount in the tariff's currency (an unknown code shown after the number). */
export function money(value: number | null | undefined, currency: string, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${currency}`;
  }
}

/** Carbon in grams, as kilograms from 1000 g up. */
export function grams(value: number | null | undefined, per = ''): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const suffix = per ? `/${per}` : '';
  if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(2)} kg${suffix}`;
  return `${Math.round(value)} g${suffix}`;
}
