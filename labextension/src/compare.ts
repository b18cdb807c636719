/**
 * View logic of comparing runs, apart from the components so it is unit-tested without a
 * browser: selecting runs in the list, the rows of the comparison table, the code diff summary.
 */
import { formatMetric } from './format';
import type {
  ICellDiff,
  ICodeDiff,
  ICompareRow,
  IComparison,
  IMetricRange
} from './tokens';

/**
 * The selection after the user toggles `id`: a plain click or Space toggles it; with `range`
 * (shift) every run listed between `anchor` and `id` is added. Kept in selection order, so
 * the first run picked is the baseline of the code diff.
 */
export function selectRun(
  selected: string[],
  id: string,
  listed: string[],
  range = false,
  anchor: string | null = null
): string[] {
  const from = anchor === null ? -1 : listed.indexOf(anchor);
  const to = listed.indexOf(id);
  if (range && from >= 0 && to >= 0) {
    const [lo, hi] = from < to ? [from, to] : [to, from];
    const span = listed.slice(lo, hi + 1).filter(r => !selected.includes(r));
    return selected.concat(span);
  }
  return selected.includes(id)
    ? selected.filter(r => r !== id)
    : selected.concat(id);
}

/** The selection without runs that are no longer listed (deleted, filtered out). */
export function keepListed(selected: string[], listed: string[]): string[] {
  const present = new Set(listed);
  const kept = selected.filter(id => present.has(id));
  return kept.length === selected.length ? selected : kept;
}

export function canCompare(selected: string[]): boolean {
  return new Set(selected).size >= 2;
}

/** One cell of the comparison table: the text shown, and a detail line (metric range). */
export interface ICompareCell {
  text: string;
  detail: string;
  missing: boolean;
}

export interface ICompareTableRow {
  key: string;
  same: boolean;
  cells: ICompareCell[];
}

export interface ICompareSection {
  kind: 'params' | 'metrics' | 'tags';
  rows: ICompareTableRow[];
  /** Rows equal across all runs, left out of `rows` unless identical rows are shown. */
  hidden: number;
}

function textCell(value: string | null): ICompareCell {
  return value === null
    ? { text: '–', detail: '', missing: true }
    : { text: value, detail: '', missing: false };
}

/** A metric as its last value, with `min … max` as the detail. */
export function metricCell(value: IMetricRange | null): ICompareCell {
  if (value === null) {
    return { text: '–', detail: '', missing: true };
  }
  return {
    text: formatMetric(value.last),
    detail: `${formatMetric(value.min)} … ${formatMetric(value.max)}`,
    missing: false
  };
}

function section<T>(
  kind: ICompareSection['kind'],
  rows: ICompareRow<T>[],
  cell: (v: T | null) => ICompareCell,
  showIdentical: boolean
): ICompareSection {
  const shown = rows.filter(r => showIdentical || !r.same);
  return {
    kind,
    hidden: rows.length - shown.length,
    rows: shown.map(r => ({
      key: r.key,
      same: r.same,
      cells: r.values.map(v => cell(v))
    }))
  };
}

/** Params, metrics and tags as table sections; identical rows only with `showIdentical`. */
export function compareSections(
  data: IComparison,
  showIdentical: boolean
): ICompareSection[] {
  return [
    section('params', data.params, textCell, showIdentical),
    section('metrics', data.metrics, metricCell, showIdentical),
    section('tags', data.tags, textCell, showIdentical)
  ];
}

/** How many rows in all are identical across the runs. */
export function identicalCount(data: IComparison): number {
  return [data.params, data.metrics, data.tags].reduce(
    (n, rows: ICompareRow<unknown>[]) => n + rows.filter(r => r.same).length,
    0
  );
}

export interface IDiffSummary {
  same: number;
  changed: number;
  added: number;
  removed: number;
}

export function diffSummary(diff: ICodeDiff): IDiffSummary {
  const out: IDiffSummary = { same: 0, changed: 0, added: 0, removed: 0 };
  for (const cell of diff.cells) {
    out[cell.kind] += 1;
  }
  return out;
}

/** The cells of a diff to show: the differing ones, and the same ones too with `showSame`. */
export function diffCells(diff: ICodeDiff, showSame: boolean): ICellDiff[] {
  return diff.cells.filter(c => showSame || c.kind !== 'same');
}

/** `cell 3 → cell 4 [7]`: where a diffed cell sits in each run's executed sequence. */
export function cellLabel(cell: ICellDiff): string {
  const where = (ref: ICellDiff['a']): string =>
    ref && ref.index !== null ? `#${ref.index + 1}` : '';
  const count = (cell.b ?? cell.a)?.execution_count;
  const parts = [where(cell.a), where(cell.b)].filter(Boolean).join(' → ');
  return count === null || count === undefined ? parts : `${parts} [${count}]`;
}

/** A code diff as the Compare view shows it. */
export interface IDiffView {
  /** The differing cells, in order. */
  cells: ICellDiff[];
  /** Cells the same in both runs: counted, not listed. */
  same: number;
  counts: IDiffSummary;
  /** The server sent the whole histories' diff too. */
  hasHistory: boolean;
}

/**
 * The code diff of two runs: their own bodies (the cells from each run's start) by default,
 * their whole executed histories with `history`.
 */
export function diffView(diff: ICodeDiff, history: boolean): IDiffView {
  const cells = history && diff.history ? diff.history : diff.cells;
  const counts = diffSummary({ ...diff, cells });
  return {
    cells: cells.filter(c => c.kind !== 'same'),
    same: counts.same,
    counts,
    hasHistory: diff.history !== undefined
  };
}
