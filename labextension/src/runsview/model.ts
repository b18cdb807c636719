/**
 * The state of the Runs view: the search and order, the top-level rows loaded a page at a
 * time as they scroll into view, the expanded parents' children, the chosen columns, the best
 * metric values and the selection. Components render it and call its methods.
 */
import { Signal } from '@lumino/signaling';

import { ApiError } from '../api';
import {
  columnsOf,
  defaultColumns,
  IColumn,
  IOrder,
  loadColumns,
  nextOrder,
  orderBy,
  saveColumns,
  storageKey
} from './columns';
import type {
  IBestValue,
  IColumnKeys,
  ITableRun,
  ITableSearch,
  RunsTableClient
} from './client';
import { clickSelect, DisplayRow, IClick, RowIndex, subtree } from './rows';

export const PAGE_SIZE = 100;
const MAX_CHILDREN = 1000;

export class RunsTableModel {
  constructor(
    private readonly client: RunsTableClient,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null
  ) {}

  readonly changed = new Signal<this, void>(this);

  search: ITableSearch = { filter: '', experiment: '', deleted: false };
  order: IOrder | null = null;
  chosen: string[] = [];
  keys: IColumnKeys = { params: [], metrics: [], tags: [] };
  best: Record<string, IBestValue> = {};
  total = 0;
  loadedOnce = false;
  store = '';
  filterError = '';
  error = '';
  selected = new Set<string>();
  rows = new RowIndex(0, [], new Map());

  get columns(): IColumn[] {
    return columnsOf(this.chosen);
  }

  get orderBy(): string[] {
    return orderBy(this.order, this.columns);
  }

  /** Reads the first page, the keys and the remembered columns. */
  async start(): Promise<void> {
    await Promise.all([this.reload(true), this.loadKeys()]);
    this.pickColumns();
  }

  /**
   * Reads the search again from its first page; with `count`, its size too, asked apart so
   * the first rows are drawn before the runs are counted.
   */
  async reload(count = true): Promise<void> {
    const gen = ++this._gen;
    this._top = [];
    this._pages.clear();
    this._expandedTop.clear();
    this._expanded.clear();
    this._children.clear();
    this._counting = count;
    if (count) {
      this.total = 0;
    }
    this._reindex();
    await this._loadPage(0, gen, false); // first, alone: the rows are drawn sooner
    if (count) {
      await this._loadCount(gen);
    }
    void this.loadBest();
  }

  async setFilter(filter: string): Promise<void> {
    this.search = { ...this.search, filter };
    this.selected = new Set();
    if (filter.trim()) {
      // a server without the check lists the filter and reports its 400 as before
      const error = await this.client.checkFilter(filter).catch(() => '');
      if (this.search.filter !== filter) {
        return; // another filter came meanwhile
      }
      if (error) {
        ++this._gen; // a page under way is for the old filter
        this._top = [];
        this._pages.clear();
        this.total = 0;
        this.filterError = error;
        this.loadedOnce = true;
        this._reindex();
        return;
      }
    }
    await this.reload();
  }

  async setExperiment(experiment: string): Promise<void> {
    this.search = { ...this.search, experiment };
    this.selected = new Set();
    await Promise.all([this.reload(), this.loadKeys()]);
    this.pickColumns();
  }

  async setDeleted(deleted: boolean): Promise<void> {
    this.search = { ...this.search, deleted };
    this.selected = new Set();
    await this.reload();
  }

  /** Sorts by a column (a click on its header); the row count stays, so it is not asked. */
  async sortBy(column: IColumn): Promise<void> {
    this.order = nextOrder(this.order, column);
    await this.reload(false);
  }

  setColumns(chosen: string[]): void {
    const sortedGone =
      this.order !== null &&
      !columnsOf(chosen).some(c => c.id === this.order?.column);
    this.chosen = chosen;
    if (this.storage && this.store) {
      saveColumns(
        this.storage,
        storageKey(this.store, this.search.experiment),
        chosen
      );
    }
    if (sortedGone) {
      this.order = null;
      void this.reload(false);
    } else {
      void this.loadBest();
      this._emit();
    }
  }

  /** Loads the top-level pages holding table rows `from` to `to`. */
  ensureRows(from: number, to: number): void {
    const pages = new Set(
      this.rows.missing(from, to).map(t => Math.floor(t / PAGE_SIZE))
    );
    for (const page of pages) {
      void this._loadPage(page, this._gen, false);
    }
  }

  isExpanded(id: string): boolean {
    return this._expanded.has(id);
  }

  /** Folds or unfolds the children of a run (`top`: its top-level row, null for a child). */
  async toggle(run: ITableRun, top: number | null): Promise<void> {
    if (this._expanded.delete(run.id)) {
      if (top !== null) {
        this._expandedTop.delete(top);
      }
      this._reindex();
      return;
    }
    this._expanded.add(run.id);
    if (top !== null) {
      this._expandedTop.set(top, run.id);
    }
    const gen = this._gen;
    if (!this._children.has(run.id)) {
      try {
        const page = await this.client.page(
          this.search,
          this.orderBy,
          0,
          MAX_CHILDREN,
          { parent: run.id, count: false }
        );
        if (gen !== this._gen) {
          return;
        }
        this._children.set(run.id, page.runs);
      } catch (err) {
        this._fail(err);
      }
    }
    this._reindex();
  }

  click(index: number, id: string, click: IClick): void {
    const next = clickSelect(
      this.selected,
      this._anchor,
      index,
      id,
      click,
      this.rows
    );
    this.selected = next.selected;
    this._anchor = next.anchor;
    this._emit();
  }

  /** Selects every loaded row; clears the selection when they are all selected already. */
  toggleAll(): void {
    const loaded = this.rows.runsBetween(0, this.rows.count - 1);
    const all = loaded.length > 0 && loaded.every(r => this.selected.has(r.id));
    this.selected = all ? new Set() : new Set(loaded.map(r => r.id));
    this._anchor = null;
    this._emit();
  }

  clearSelection(): void {
    this.selected = new Set();
    this._anchor = null;
    this._emit();
  }

  /** The selected runs, in table order as far as they are loaded. */
  get selectedIds(): string[] {
    const loaded = this.rows
      .runsBetween(0, this.rows.count - 1)
      .map(r => r.id)
      .filter(id => this.selected.has(id));
    const rest = Array.from(this.selected).filter(id => !loaded.includes(id));
    return loaded.concat(rest);
  }

  /** A run's name if it is loaded. */
  nameOf(id: string): string | null {
    const loaded = this.rows.runsBetween(0, this.rows.count - 1);
    return loaded.find(r => r.id === id)?.name ?? null;
  }

  /** Deletes (or restores) the selected runs, then reads the table again. */
  async bulk(action: 'delete' | 'restore'): Promise<number> {
    const ids = this.selectedIds;
    const done = await this.client.bulk(action, ids);
    this.selected = new Set();
    await this.reload();
    return done.length;
  }

  /** The CSV of the selection (else of every run the search finds) with the shown columns. */
  csv(): Promise<string> {
    const ids = this.selected.size ? this.selectedIds : null;
    return this.client.csv(
      this.search,
      this.columns.map(c => c.id),
      this.orderBy,
      ids
    );
  }

  rowAt(i: number): DisplayRow {
    return this.rows.rowAt(i);
  }

  async loadKeys(): Promise<void> {
    try {
      this.keys = await this.client.keys(this.search.experiment);
    } catch (err) {
      this._fail(err);
    }
  }

  async loadBest(): Promise<void> {
    const metrics = this.columns
      .filter(c => c.group === 'metrics')
      .map(c => c.label);
    const gen = this._gen;
    try {
      const best = await this.client.best(this.search, metrics);
      if (gen === this._gen) {
        this.best = best;
        this._emit();
      }
    } catch {
      this.best = {}; // the filter's error is shown by the page request
    }
  }

  /** The remembered columns of the experiment, else the defaults from its keys. */
  pickColumns(): void {
    const remembered =
      this.storage && this.store
        ? loadColumns(
            this.storage,
            storageKey(this.store, this.search.experiment)
          )
        : null;
    this.chosen = remembered ?? defaultColumns(this.keys);
    void this.loadBest();
    this._emit();
  }

  private async _loadPage(
    page: number,
    gen: number,
    count: boolean
  ): Promise<void> {
    if (this._pages.has(page)) {
      return;
    }
    this._pages.add(page);
    try {
      const result = await this.client.page(
        this.search,
        this.orderBy,
        page * PAGE_SIZE,
        PAGE_SIZE,
        { count }
      );
      if (gen !== this._gen) {
        return;
      }
      if (this._counting) {
        // the rows so far until the count arrives
        this.total = Math.max(this.total, result.offset + result.runs.length);
      }
      this.store = result.store;
      result.runs.forEach((run, i) => {
        this._top[result.offset + i] = run;
      });
      this.filterError = '';
      this.error = '';
      this.loadedOnce = true;
      this._reindex();
    } catch (err) {
      if (gen === this._gen) {
        this._pages.delete(page);
        if (page === 0) {
          this.total = 0;
        }
        this._fail(err);
      }
    }
  }

  private async _loadCount(gen: number): Promise<void> {
    try {
      const result = await this.client.page(this.search, [], 0, 1);
      if (gen === this._gen && result.total !== null) {
        this._counting = false;
        this.total = result.total;
        this._reindex();
      }
    } catch {
      // the page request shows the error
    }
  }

  private _fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ApiError && err.status === 400 && this.search.filter) {
      this.filterError = message;
    } else {
      this.error = message;
    }
    this.loadedOnce = true;
    this._reindex();
  }

  private _reindex(): void {
    const inserted = new Map<number, DisplayRow[]>();
    for (const [top, id] of this._expandedTop) {
      inserted.set(
        top,
        subtree(id, 1, c => this._children.get(c) ?? null, this._expanded)
      );
    }
    this.rows = new RowIndex(this.total, this._top, inserted);
    this._emit();
  }

  private _emit(): void {
    this.changed.emit();
  }

  private _gen = 0;
  private _counting = false;
  private _anchor: number | null = null;
  private _top: (ITableRun | undefined)[] = [];
  private _pages = new Set<number>();
  private _expandedTop = new Map<number, string>();
  private _expanded = new Set<string>();
  private _children = new Map<string, ITableRun[]>();
}
