/**
 * How runs, metrics and times are written as text (and a tag read from it), apart from the
 * components so it can be unit-tested without a browser.
 */
import type { IRunSummary, MetricValue } from './tokens';

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
