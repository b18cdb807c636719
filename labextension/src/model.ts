/**
 * View logic of the sidebar and run view, kept apart from the components so it can be
 * unit-tested without a browser: grouping, formatting, refresh timing, chart geometry.
 */
import type {
  IMetricPoint,
  IRunSummary,
  MetricValue,
  RunStatus
} from './tokens';

/** A metric value as a number (`"NaN"` -> NaN, `"Infinity"` -> Infinity). */
export function toNumber(value: MetricValue | null | undefined): number {
  if (value === null || value === undefined) {
    return NaN;
  }
  return typeof value === 'number' ? value : Number(value);
}

/** A metric for display: 4 significant digits, integers as they are. */
export function formatMetric(value: MetricValue | null | undefined): string {
  const n = toNumber(value);
  if (Number.isNaN(n)) {
    return 'NaN';
  }
  if (!Number.isFinite(n)) {
    return n > 0 ? '∞' : '−∞';
  }
  if (Number.isInteger(n) && Math.abs(n) < 1e9) {
    return String(n);
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return n.toExponential(2);
  }
  return String(Number(n.toPrecision(4)));
}

/** `"850 ms"`, `"12.3 s"`, `"4 min 05 s"`, `"2 h 07 min"`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '–';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  const total = Math.round(seconds);
  if (total < 3600) {
    const s = total % 60;
    return `${Math.floor(total / 60)} min ${s < 10 ? '0' : ''}${s} s`;
  }
  const minutes = Math.floor(total / 60) % 60;
  return `${Math.floor(total / 3600)} h ${minutes < 10 ? '0' : ''}${minutes} min`;
}

/** How long a run took, or has been going for a running one (`now` in UNIX seconds). */
export function runDuration(
  run: Pick<IRunSummary, 'start_time' | 'end_time' | 'status'>,
  now: number
): string {
  if (run.end_time !== null && run.end_time !== undefined) {
    return formatSeconds(run.end_time - run.start_time);
  }
  return run.status === 'running' ? formatSeconds(now - run.start_time) : '–';
}

/** A start time as local date and time, `YYYY-MM-DD HH:MM`. */
export function formatTime(epochSeconds: number | null | undefined): string {
  if (epochSeconds === null || epochSeconds === undefined) {
    return '–';
  }
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

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

export interface IChartGeometry {
  /** SVG path data; NaN and infinite points break the line. */
  path: string;
  /** The finite points as circles (for short series). */
  dots: { x: number; y: number; step: number; value: number }[];
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Scales a metric series into a `width` x `height` box with `pad` pixels of margin. */
export function chartGeometry(
  points: Pick<IMetricPoint, 'step' | 'value'>[],
  width: number,
  height: number,
  pad = 4
): IChartGeometry {
  const finite = points
    .map(p => ({ step: p.step, value: toNumber(p.value) }))
    .filter(p => Number.isFinite(p.value));
  if (!finite.length) {
    return { path: '', dots: [], xMin: 0, xMax: 0, yMin: 0, yMax: 0 };
  }
  const xs = finite.map(p => p.step);
  const ys = finite.map(p => p.value);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMin = Math.min(...ys);
  const yMax = Math.max(...ys);
  const sx = (x: number): number =>
    xMax === xMin
      ? width / 2
      : pad + ((x - xMin) / (xMax - xMin)) * (width - 2 * pad);
  const sy = (y: number): number =>
    yMax === yMin
      ? height / 2
      : height - pad - ((y - yMin) / (yMax - yMin)) * (height - 2 * pad);
  let path = '';
  let pen = false;
  const dots: IChartGeometry['dots'] = [];
  for (const p of points) {
    const v = toNumber(p.value);
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const x = Math.round(sx(p.step) * 10) / 10;
    const y = Math.round(sy(v) * 10) / 10;
    path += `${pen ? 'L' : 'M'}${x} ${y} `;
    pen = true;
    dots.push({ x, y, step: p.step, value: v });
  }
  return { path: path.trim(), dots, xMin, xMax, yMin, yMax };
}

/** The first line of a cell's source, shortened for a one-line summary. */
export function firstLine(source: string, max = 80): string {
  const line = source.split('\n').find(l => l.trim()) ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Parses `key=value` into a tag, or explains what is wrong. */
export function parseTag(
  text: string
): { key: string; value: string } | { error: string } {
  const at = text.indexOf('=');
  if (at <= 0) {
    return { error: 'write a tag as key=value' };
  }
  return { key: text.slice(0, at).trim(), value: text.slice(at + 1).trim() };
}
