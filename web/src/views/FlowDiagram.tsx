// The live power-flow diagram: the house in the middle, each source and sink around it, an
// arrow per flow whose dashes run in the flow's direction. A tick changes only text and
// classes (fixed geometry), so it repaints without a layout pass over the page.
import type { FlowNode } from '../flow';
import { kwh, percent, time, watts } from '../format';

const SIZE = 360;
const CENTRE = SIZE / 2;
const RADIUS = 130;

/** Where a node sits: the grid on the left, the others on an arc from the top clockwise. */
function position(index: number, count: number, key: FlowNode['key']): [number, number] {
  const degrees = key === 'grid' ? 180 : -90 + (index * 220) / Math.max(count - 1, 1);
  const angle = (degrees * Math.PI) / 180;
  return [CENTRE + RADIUS * Math.cos(angle), CENTRE + RADIUS * Math.sin(angle)];
}

export function FlowDiagram({ nodes, stale, consumptionW, timestamp }: { nodes: FlowNode[]; stale: boolean; consumptionW: number | null; timestamp: string | null }) {
  const shown = nodes.filter((n) => n.present);
  const others = shown.filter((n) => n.key !== 'grid');
  const at = (n: FlowNode): [number, number] => position(others.indexOf(n), others.length, n.key);
  return (
    <figure class={`flow${stale ? ' stale' : ''}`} aria-label="Live power flow" data-stale={stale ? 'true' : 'false'} data-timestamp={timestamp ?? ''}>
      <svg viewBox={`0 0 ${SIZE} ${SIZE}`} aria-hidden="true">
        <circle cx={CENTRE} cy={CENTRE} r={34} class="house" />
        {shown.map((n) => {
          const [x, y] = at(n);
          return <circle key={n.key} cx={x} cy={y} r={30} class={`node ${n.key}`} />;
        })}
      </svg>
      {shown.map((n) => {
        // An arrow is a strip from the house to the node, rotated into place once; its dashes
        // move by a transform animation, which the compositor runs without the main thread.
        const [x, y] = at(n);
        const degrees = (Math.atan2(y - CENTRE, x - CENTRE) * 180) / Math.PI;
        return (
          <div key={n.key} class={`arrow ${n.direction}`} data-arrow={n.key} aria-hidden="true" style={{ width: `${(RADIUS / SIZE) * 100}%`, transform: `rotate(${degrees}deg)` }}>
            <div class="dashes" />
          </div>
        );
      })}
      <div class="house-label" style={{ left: '50%', top: '50%' }}>
        <span>Home</span>
        <strong data-flow-value="home">{watts(consumptionW)}</strong>
      </div>
      {shown.map((n) => {
        const [x, y] = at(n);
        const verb = n.direction === 'none' ? 'idle' : n.key === 'grid' ? (n.direction === 'in' ? 'importing' : 'exporting') : n.direction === 'in' ? 'to the house' : 'from the house';
        return (
          <div key={n.key} class="node-label" style={{ left: `${(x / SIZE) * 100}%`, top: `${(y / SIZE) * 100}%` }} data-flow={n.key} data-direction={n.direction}>
            <span>{n.label}</span>
            <strong data-flow-value={n.key}>{watts(n.powerW)}</strong>
            <span class="sr-only"> {verb}</span>
            {n.soc !== null && <small data-flow-soc={n.key}>{percent(n.soc)}</small>}
            {n.levelWh !== null && <small data-flow-level={n.key}>{kwh(n.levelWh)}</small>}
            {n.mode && <small data-flow-mode={n.key}>{n.mode}</small>}
          </div>
        );
      })}
      <div role="status" aria-live="polite" class="freshness">
        {stale ? <span class="badge warn" data-testid="stale">Stale: no current values</span> : <span class="badge ok">Live · {time(timestamp)}</span>}
      </div>
    </figure>
  );
}
