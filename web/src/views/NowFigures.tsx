// Prices and carbon now, next to the flow diagram: they move with each tick of the home's
// stats, and go stale with them.
import type { StatsFragment } from '../generated/graphql';
import { grams, money } from '../format';

const per = (shown: string, unit: string) => (shown === '—' ? shown : `${shown}/${unit}`);

export function NowFigures({ stats, stale, currency }: { stats: StatsFragment | null; stale: boolean; currency: string }) {
  const rows: [string, string, string][] = [
    ['import-price', 'Import price', per(money(stats?.importPricePerKwh, currency, 3), 'kWh')],
    ['export-price', 'Export price', per(money(stats?.exportPricePerKwh, currency, 3), 'kWh')],
    ['carbon-intensity', 'Grid carbon', grams(stats?.carbonIntensity, 'kWh')],
    ['cost-rate', 'Cost now', per(money(stats?.costRatePerHour, currency, 2), 'h')],
    ['carbon-rate', 'Carbon now', grams(stats?.carbonRateGPerHour, 'h')],
  ];
  return (
    <dl class={`live now${stale ? ' stale' : ''}`} aria-label="Prices and carbon now" data-stale={stale ? 'true' : 'false'} data-timestamp={stats?.timestamp ?? ''}>
      {rows.map(([key, name, value]) => (
        <div key={key}>
          <dt>{name}</dt>
          <dd data-now={key}>{value}</dd>
        </div>
      ))}
      {stale && (
        <div>
          <dt>State</dt>
          <dd>
            <span class="badge warn">stale</span>
          </dd>
        </div>
      )}
    </dl>
  );
}
