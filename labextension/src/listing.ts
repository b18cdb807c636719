/**
 * How the sidebar lists runs: grouped by experiment, pages merged, the key metrics of a row and
 * how often to refresh.
 */
import type { IRunSummary, MetricValue, RunStatus } from './tokens';

export interface IExperimentGroup {
  experiment: string;
  runs: IRunSummary[];
}

/**
 * Runs grouped by experiment, keeping the order they came in (newest first) within a group
 * and ordering groups by their first (newest) run.
 */
export function groupByExperiment(runs: IRunSummary[]): IExperimentGroup[] {
  const groups = new Map<string, IExperimentGroup>();
  for (const run of runs) {
    let group = groups.get(run.experiment);
    if (!group) {
      group = { experiment: run.experiment, runs: [] };
      groups.set(run.experiment, group);
    }
    group.runs.push(run);
  }
  return Array.from(groups.values());
}

/** Pages appended in order, a run appearing in two pages (it moved) kept once. */
export function mergeRuns(
  current: IRunSummary[],
  more: IRunSummary[]
): IRunSummary[] {
  const seen = new Set(current.map(r => r.id));
  return current.concat(more.filter(r => !seen.has(r.id)));
}

/**
 * The metrics to show in a list row: the preferred keys first (when the run has them), then
 * the others alphabetically, leaving out system metrics; at most `max`.
 */
export function keyMetrics(
  run: Pick<IRunSummary, 'metrics'>,
  max: number,
  preferred: string[] = []
): [string, MetricValue][] {
  const keys = Object.keys(run.metrics).filter(k => !k.startsWith('system/'));
  const chosen = preferred.filter(k => keys.includes(k));
  const rest = keys.filter(k => !chosen.includes(k)).sort();
  return chosen
    .concat(rest)
    .slice(0, Math.max(0, max))
    .map(k => [k, run.metrics[k]]);
}

export function isActive(status: RunStatus): boolean {
  return status === 'running';
}

/** Milliseconds until the next refresh: quick while any listed run is running. */
export function refreshDelay(
  runs: Pick<IRunSummary, 'status'>[],
  activeSeconds: number,
  idleSeconds: number
): number {
  const active = runs.some(r => isActive(r.status));
  return Math.max(0.5, active ? activeSeconds : idleSeconds) * 1000;
}

/** Whether two lists would render the same (skips re-rendering on an unchanged refresh). */
export function sameRuns(a: IRunSummary[], b: IRunSummary[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
