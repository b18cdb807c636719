/**
 * The sidebar's model: the listed runs, the filter, paging and live refresh. The React
 * component (components/RunList.tsx) only renders it.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, NbtrackClient } from './api';
import { keepListed, selectRun } from './compare';
import { FilterKeysCache } from './filter';
import { mergeRuns, refreshDelay, sameRuns } from './listing';
import { DEFAULT_SETTINGS, ISidebarSettings } from './settings';
import type { IRunSummary } from './tokens';

export class RunListModel {
  constructor(readonly client: NbtrackClient) {}

  runs: IRunSummary[] = [];
  nextToken: string | null = null;
  filter = '';
  filterError = '';
  error = '';
  store = '';
  loading = false;
  private _checks = 0; // filters being checked (GET filter/check)
  loadedOnce = false;
  settings: ISidebarSettings = { ...DEFAULT_SETTINGS };
  /** Runs picked for comparison, in the order they were picked. */
  selected: string[] = [];

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Reloads the first page (and as many rows as are shown), keeping the list if unchanged. */
  async refresh(): Promise<void> {
    if (this._checks > 0 || (this.filterError && this.filter.trim())) {
      // a filter being checked, or one that does not parse, is never listed: the check lists
      // it when it parses, and a bad one waits for the user's next filter
      return;
    }
    const ticket = ++this._ticket;
    this.loading = true;
    this._changed.emit();
    try {
      const size = Math.max(this.settings.pageSize, this.runs.length);
      const page = await this.client.listRuns({
        filter: this.filter,
        maxResults: Math.min(size, 1000),
        nest: true
      });
      if (ticket !== this._ticket) {
        return;
      }
      if (!sameRuns(this.runs, page.runs) || !this.loadedOnce) {
        this.runs = page.runs;
        this.nextToken = page.next_page_token;
        this.selected = keepListed(
          this.selected,
          this.runs.map(r => r.id)
        );
      }
      this.store = page.store;
      this.error = '';
      this.filterError = '';
    } catch (err) {
      if (ticket !== this._ticket) {
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ApiError && err.status === 400 && this.filter) {
        this.filterError = message;
      } else {
        this.error = message;
      }
    } finally {
      if (ticket === this._ticket) {
        this.loading = false;
        this.loadedOnce = true;
        this._changed.emit();
        this.schedule();
      }
    }
  }

  async loadMore(): Promise<void> {
    if (!this.nextToken) {
      return;
    }
    try {
      const page = await this.client.listRuns({
        filter: this.filter,
        maxResults: this.settings.pageSize,
        pageToken: this.nextToken,
        nest: true
      });
      this.runs = mergeRuns(this.runs, page.runs);
      this.nextToken = page.next_page_token;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
    this._changed.emit();
  }

  /** Toggles `id` in the selection; with `range`, adds the runs listed since the last one toggled. */
  toggleSelected(id: string, range = false): void {
    this.selected = selectRun(
      this.selected,
      id,
      this.runs.map(r => r.id),
      range,
      this._anchor
    );
    this._anchor = id;
    this._changed.emit();
  }

  clearSelection(): void {
    this.selected = [];
    this._anchor = null;
    this._changed.emit();
  }

  /**
   * Lists the runs `filter` finds. A filter that does not parse is not sent (nor polled): its
   * error shows until the user applies another.
   */
  async setFilter(filter: string): Promise<void> {
    const ticket = ++this._ticket; // a listing under way is for the old filter
    this.filter = filter;
    this.runs = [];
    this.loadedOnce = false;
    this.filterError = '';
    if (filter.trim()) {
      this.loading = true; // the poll waits meanwhile
      // a server without the check lists the filter and reports its 400 as before
      this._checks++;
      let error: string;
      try {
        error = await this.client.checkFilter(filter).catch(() => '');
      } finally {
        this._checks--;
      }
      if (ticket !== this._ticket) {
        return;
      }
      if (error) {
        this.filterError = error;
        this.loading = false;
        this.loadedOnce = true;
        this.schedule(); // stops polling
        this._changed.emit();
        return;
      }
    }
    return this.refresh();
  }

  /** The keys the filter box completes, asked again when half a minute old. */
  readonly filterKeys = new FilterKeysCache(experiment =>
    this.client.filterKeys(experiment)
  );

  /** Live refresh: polls while `visible()` says the panel is shown. */
  start(visible: () => boolean): void {
    this._visible = visible;
    this.schedule();
  }

  stop(): void {
    this._visible = null;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private schedule(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    if (!this._visible || this.filterError) {
      return; // a bad filter is not sent again until the user applies another
    }
    const delay = refreshDelay(
      this.runs,
      this.settings.activeRefreshSeconds,
      this.settings.idleRefreshSeconds
    );
    this._timer = setTimeout(() => {
      this._timer = null;
      if (this._visible && this._visible() && !this.loading) {
        void this.refresh();
      } else {
        this.schedule();
      }
    }, delay);
  }

  private _changed = new Signal<this, void>(this);
  private _ticket = 0;
  private _anchor: string | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _visible: (() => boolean) | null = null;
}
