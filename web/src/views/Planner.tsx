// The planner panel of a home: its objective, the plan for the next 24 hours, the decisions its
// followed plans applied, and what they saved against the greedy twin since the goal was set.
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { linesChart } from '../charts';
import { grams, money, time, watts } from '../format';
import { DecisionsDocument, PlannerDocument, SavingsDocument, SetGoalDocument, type DecisionsQuery, type OptimizationObjective, type SavingsQuery } from '../generated/graphql';
import { useClock } from '../live';
import { OBJECTIVES, decisionsRange, latestFirst, planSeries, savingsRange, savingsSeries } from '../planner';
import { useChart } from './Charts';

/** Savings and decisions are asked again this often; the plan is the same for 15 minutes. */
const REFRESH_MS = 30_000;
const PLAN_REFRESH_MS = 5 * 60_000;
const DECISION_ROWS = 12;

const ACTION_POWER = (powerW: number) => (Math.abs(powerW) < 1 ? '—' : watts(powerW));

function useRefreshed<R>(load: () => Promise<R>, key: string, every: number): { data: R | null; error: string | null } {
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const tick = Math.floor(useClock(every) / every);
  useEffect(() => {
    let current = true;
    load()
      .then((answer) => current && (setData(answer), setError(null)))
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick]);
  return { data, error };
}

function PlanChart({ plan }: { plan: Parameters<typeof planSeries>[0] & { createdAt: string } }) {
  const { xs, lines } = planSeries(plan);
  const ref = useChart(
    (el, width) => linesChart(el, xs, lines.map((l) => ({ ...l, scale: 'W' })), { title: 'Plan (W, + drawing)', axes: [{ scale: 'W', label: 'W', side: 3 }], stepped: true, width }),
    `${plan.createdAt}:${xs.length}`,
  );
  return <div ref={ref} class="chart" data-testid="plan-chart" data-intervals={xs.length} role="img" aria-label="Planned power per interval of the battery, car, heating and the grid, line chart" />;
}

function SavingsChart({ hourly, currency }: { hourly: SavingsQuery['savings']['hourly']; currency: string }) {
  const [xs, cost, carbon] = savingsSeries(hourly);
  const ref = useChart(
    (el, width) =>
      xs.length
        ? linesChart(
            el,
            xs,
            [
              { label: `Cost saved (${currency})`, colour: '#2b8a3e', values: cost, scale: 'money' },
              { label: 'Carbon saved (kg CO₂e)', colour: '#5c6677', values: carbon, scale: 'kg' },
            ],
            { title: 'Savings since the goal was set', axes: [{ scale: 'money', label: currency, side: 3 }, { scale: 'kg', label: 'kg CO₂e', side: 1 }], stepped: false, width },
          )
        : null,
    JSON.stringify(hourly),
  );
  return <div ref={ref} class="chart" data-testid="savings-chart" data-hours={hourly.length} role="img" aria-label="Cumulative cost and carbon saved against the greedy rule, line chart" />;
}

function Decisions({ rows, currency }: { rows: DecisionsQuery['decisions']; currency: string }) {
  if (!rows.length) return <p class="muted">No decisions applied in the last hours.</p>;
  return (
    <table class="decisions" data-testid="decisions">
      <caption class="sr-only">Latest decisions</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Device</th>
          <th scope="col">Action</th>
          <th scope="col">Power</th>
          <th scope="col">Expected cost</th>
          <th scope="col">Expected carbon</th>
        </tr>
      </thead>
      <tbody>
        {latestFirst(rows, DECISION_ROWS).map((d) => (
          <tr key={`${d.deviceId}:${d.intervalStart}`}>
            <td>{time(d.intervalStart)}</td>
            <td>{d.deviceName}</td>
            <td>{d.action}</td>
            <td>{ACTION_POWER(d.powerW)}</td>
            <td>{money(d.expectedCost, currency, 3)}</td>
            <td>{grams(d.expectedCarbonG)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PlannerPanel({ homeId }: { homeId: string }) {
  const [generation, setGeneration] = useState(0);
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const planner = useRefreshed(() => run(PlannerDocument, { homeId }), `${homeId}:${generation}`, PLAN_REFRESH_MS);
  const goal = planner.data?.optimizationGoal ?? null;
  const plan = planner.data?.plan ?? null;
  const savings = useRefreshed<SavingsQuery | null>(
    () => (goal ? run(SavingsDocument, { homeId, ...savingsRange(goal.updatedAt, Date.now()) }) : Promise.resolve(null)),
    `${homeId}:${goal?.updatedAt ?? ''}`,
    REFRESH_MS,
  );
  const decisions = useRefreshed(() => run(DecisionsDocument, { homeId, ...decisionsRange(Date.now()), limit: 200 }), `${homeId}:${generation}`, REFRESH_MS);
  const currency = plan?.currency ?? savings.data?.savings.currency ?? '';

  async function choose(objective: OptimizationObjective) {
    setSaving(true);
    setProblem(null);
    try {
      const { setOptimizationGoal: answer } = await run(SetGoalDocument, { homeId, input: { objective } }, 'mutation');
      if (answer.__typename === 'OperationInfo') setProblem(answer.messages.map((m) => m.message).join(' '));
      else setGeneration((g) => g + 1);
    } catch (e) {
      setProblem((e as Error).message);
    } finally {
      setSaving(false);
    }
  }

  const found = savings.data?.savings ?? null;
  return (
    <section aria-labelledby="planner-title" class="panel" data-testid="planner">
      <h2 id="planner-title">Planner</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          Objective
          <select name="objective" disabled={saving || !planner.data} value={goal?.objective ?? ''} onChange={(e) => void choose((e.currentTarget as HTMLSelectElement).value as OptimizationObjective)}>
            {!goal && <option value="">No goal (plans for cost, not followed)</option>}
            {OBJECTIVES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
      </form>
      {problem && <p role="alert">{problem}</p>}
      {planner.error && <p role="alert">{planner.error}</p>}
      {plan && (
        <>
          <p class="muted" data-testid="plan-summary" data-status={plan.status} data-objective={plan.objective}>
            Plan from {time(plan.startsAt)} for 24 h: {plan.status}
            {plan.reason ? ` (${plan.reason})` : ''}. Expected {money(plan.expected.cost, plan.currency)} and {grams(plan.expected.carbonG)}; the greedy rule on the same day:{' '}
            {money(plan.baseline.cost, plan.currency)} and {grams(plan.baseline.carbonG)}.
          </p>
          <PlanChart plan={plan} />
        </>
      )}
      <h3>Savings</h3>
      {!goal && <p class="muted">Choose an objective: savings against the greedy rule are recorded from then on.</p>}
      {savings.error && <p role="alert">{savings.error}</p>}
      {goal && found && (
        <>
          <dl class="live" aria-label="Savings since the goal was set" data-ticks={found.ticks}>
            <div>
              <dt>Cost saved</dt>
              <dd data-saving="cost">{money(found.costSaved, currency)}</dd>
            </div>
            <div>
              <dt>Carbon saved</dt>
              <dd data-saving="carbon">{grams(found.carbonSavedG)}</dd>
            </div>
            <div>
              <dt>Hours covered</dt>
              <dd data-saving="hours">{found.hours.toFixed(1)} h</dd>
            </div>
            <div>
              <dt>Solar forecast MAE</dt>
              <dd data-saving="solar-mae">{watts(found.solarMaeW)}</dd>
            </div>
            <div>
              <dt>Base-load forecast MAE</dt>
              <dd data-saving="base-load-mae">{watts(found.baseLoadMaeW)}</dd>
            </div>
          </dl>
          <SavingsChart hourly={found.hourly} currency={currency} />
        </>
      )}
      <h3>Latest decisions</h3>
      {decisions.error && <p role="alert">{decisions.error}</p>}
      {decisions.data && <Decisions rows={decisions.data.decisions} currency={currency} />}
    </section>
  );
}
