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
 * and ordering groups by their first (newest) run. A nested run (`depth` > 0, listed right
 * after its parent by the server) stays with its parent, whatever its own experiment.
 */
export function groupByExperiment(runs: IRunSummary[]): IExperimentGroup[] {
  const groups = new Map<string, IExperimentGroup>();
  let last: IExperimentGroup | null = null;
  for (const run of runs) {
    let group: IExperimentGroup | null | undefined =
      (run.depth ?? 0) > 0 ? last : groups.get(run.experiment);
    if (!group) {
      group = groups.get(run.experiment);
    }
    if (!group) {
      group = { experiment: run.experiment, runs: [] };
      groups.set(run.experiment, group);
    }
    group.runs.push(run);
    last = group;
  }
  return Array.from(groups.values());
}

/** A row of the sidebar's list: a run, how deep it is nested and how many runs it holds. */
export interface IRunRow {
  run: IRunSummary;
  depth: number;
  /** The runs nested under it at any depth (listed right after it). */
  nested: number;
}

/**
 * The rows shown of `runs` (in the server's nested order: each run right after its parent,
 * with its `depth`): the runs at the top, and the runs under a run only while `expanded` holds
 * its id (collapsed by default).
 */
export function visibleRows(
  runs: IRunSummary[],
  expanded: ReadonlySet<string>
): IRunRow[] {
  const rows: IRunRow[] = [];
  let hideBelow = Infinity; // rows deeper than this are folded away
  runs.forEach((run, i) => {
    const depth = run.depth ?? 0;
    if (depth <= hideBelow) {
      hideBelow = Infinity;
    }
    let nested = 0;
    while (
      i + 1 + nested < runs.length &&
      (runs[i + 1 + nested].depth ?? 0) > depth
    ) {
      nested++;
    }
    if (depth > hideBelow) {
      return;
    }
    rows.push({ run, depth, nested });
    if (nested > 0 && !expanded.has(run.id)) {
      hideBelow = depth;
    }
  });
  return rows;
}

/** `alpha=0.01 · epochs=5`: a run's params by name, to tell same-named runs apart. */
export function paramsText(run: Pick<IRunSummary, 'params'>): string {
  return Object.keys(run.params ?? {})
    .sort()
    .map(k => `${k}=${run.params[k]}`)
    .join(' · ');
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
