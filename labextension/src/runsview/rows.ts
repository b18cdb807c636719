/**
 * The rows the Runs view draws: top-level runs (loaded a page at a time, so some not yet
 * there) with the children of expanded parents spliced in after them; and the selection's
 * click rules. No DOM here.
 */
import type { ITableRun } from './client';

export type DisplayRow =
  | { kind: 'run'; run: ITableRun; depth: number; top: number | null }
  | { kind: 'pending'; top: number };

/** A run's loaded children, in the table's order; null while they load. */
export type ChildrenOf = (id: string) => ITableRun[] | null;

/** The rows under an expanded run: its children, and theirs when expanded, depth first. */
export function subtree(
  id: string,
  depth: number,
  childrenOf: ChildrenOf,
  expanded: ReadonlySet<string>,
  seen: Set<string> = new Set()
): DisplayRow[] {
  const out: DisplayRow[] = [];
  if (seen.has(id)) {
    return out; // a cycle of parent ids edited by hand
  }
  seen.add(id);
  for (const child of childrenOf(id) ?? []) {
    out.push({ kind: 'run', run: child, depth, top: null });
    if (expanded.has(child.id)) {
      out.push(...subtree(child.id, depth + 1, childrenOf, expanded, seen));
    }
  }
  return out;
}

/**
 * Row `i` of the table to row of the data: `total` top-level rows, `inserted` the rows spliced
 * after expanded top-level row `t` (their count is what moves the rows below them).
 */
export class RowIndex {
  constructor(
    readonly total: number,
    private readonly top: ReadonlyArray<ITableRun | undefined>,
    inserted: Map<number, DisplayRow[]>
  ) {
    this._after = Array.from(inserted.entries())
      .filter(([t, rows]) => t < total && rows.length > 0)
      .sort((a, b) => a[0] - b[0]);
    this.count =
      total + this._after.reduce((n, [, rows]) => n + rows.length, 0);
  }

  /** How many rows the table has. */
  readonly count: number;

  rowAt(i: number): DisplayRow {
    let shift = 0;
    for (const [t, rows] of this._after) {
      if (i <= t + shift) {
        break;
      }
      if (i <= t + shift + rows.length) {
        return rows[i - t - shift - 1];
      }
      shift += rows.length;
    }
    const top = i - shift;
    const run = this.top[top];
    return run ? { kind: 'run', run, depth: 0, top } : { kind: 'pending', top };
  }

  /** The top-level rows among table rows `from` to `to` (inclusive) that are not loaded. */
  missing(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = Math.max(0, from); i <= Math.min(to, this.count - 1); i++) {
      const row = this.rowAt(i);
      if (row.kind === 'pending') {
        out.push(row.top);
      }
    }
    return out;
  }

  /** The loaded runs of table rows `from` to `to`, in either order. */
  runsBetween(from: number, to: number): ITableRun[] {
    const out: ITableRun[] = [];
    const [a, b] = from <= to ? [from, to] : [to, from];
    for (let i = Math.max(0, a); i <= Math.min(b, this.count - 1); i++) {
      const row = this.rowAt(i);
      if (row.kind === 'run') {
        out.push(row.run);
      }
    }
    return out;
  }

  private readonly _after: [number, DisplayRow[]][];
}

export interface IClick {
  shift: boolean;
  /** Ctrl (Cmd on macOS). */
  toggle: boolean;
}

/**
 * The selection after a click on table row `index` (run `id`), as in a file browser: a plain
 * click selects only that run, Ctrl/Cmd adds or removes it, Shift adds the rows from the anchor
 * (the last row clicked without Shift). Returns the selection and the new anchor.
 */
export function clickSelect(
  selected: ReadonlySet<string>,
  anchor: number | null,
  index: number,
  id: string,
  click: IClick,
  rows: RowIndex
): { selected: Set<string>; anchor: number } {
  if (click.shift && anchor !== null) {
    const next = new Set(selected);
    for (const run of rows.runsBetween(anchor, index)) {
      next.add(run.id);
    }
    return { selected: next, anchor };
  }
  if (click.toggle) {
    const next = new Set(selected);
    if (next.has(id)) {
      next.delete(id);
    } else {
      next.add(id);
    }
    return { selected: next, anchor: index };
  }
  return { selected: new Set([id]), anchor: index };
}
