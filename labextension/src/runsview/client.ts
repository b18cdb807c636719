/**
 * The Runs view's requests (`/nbtrack/api/runs/table...`, `/keys`, `/runs/bulk`), over the
 * same `Requester` as the sidebar's client, so they can be tested with plain `fetch`.
 */
import { fetchChecked, Requester } from '../api';
import type { IRunSummary, MetricValue } from '../tokens';

/** A run in the table: the read model's summary and how many live runs it parents. */
export interface ITableRun extends IRunSummary {
  children: number;
}

export interface ITablePage {
  /** How many rows the search finds; null when not asked (`count: false`). */
  total: number | null;
  offset: number;
  runs: ITableRun[];
  store: string;
}

/** The search the table shows (the order aside). */
export interface ITableSearch {
  filter: string;
  /** One experiment, or '' for all. */
  experiment: string;
  /** The deleted runs instead of the live ones. */
  deleted: boolean;
}

export interface IBestValue {
  value: MetricValue;
  lower_is_better: boolean;
}

export interface IColumnKeys {
  params: string[];
  metrics: string[];
  tags: string[];
  /** The live experiments' names. */
  experiments?: string[];
}

function searchParams(search: ITableSearch): URLSearchParams {
  const params = new URLSearchParams();
  if (search.filter.trim()) {
    params.set('filter', search.filter.trim());
  }
  if (search.experiment) {
    params.set('experiment', search.experiment);
  }
  if (search.deleted) {
    params.set('deleted', '1');
  }
  return params;
}

export class RunsTableClient {
  constructor(
    private readonly request: Requester,
    private readonly notebook: () => string | null = () => null
  ) {}

  /** Rows `offset` to `offset + limit` (top level, or the children of `parent`). */
  page(
    search: ITableSearch,
    orderBy: string[],
    offset: number,
    limit: number,
    options: { parent?: string; count?: boolean } = {}
  ): Promise<ITablePage> {
    const params = searchParams(search);
    for (const o of orderBy) {
      params.append('order_by', o);
    }
    params.set('offset', String(offset));
    params.set('limit', String(limit));
    if (options.parent) {
      params.set('parent', options.parent);
    }
    if (options.count === false) {
      params.set('count', '0');
    }
    return this.json<ITablePage>('runs/table', params);
  }

  async best(
    search: ITableSearch,
    metrics: string[]
  ): Promise<Record<string, IBestValue>> {
    if (!metrics.length) {
      return {};
    }
    const params = searchParams(search);
    for (const m of metrics) {
      params.append('metric', m);
    }
    const body = await this.json<{ best: Record<string, IBestValue> }>(
      'runs/table/best',
      params
    );
    return body.best;
  }

  keys(experiment: string): Promise<IColumnKeys> {
    const params = new URLSearchParams();
    if (experiment) {
      params.set('experiment', experiment);
    }
    return this.json<IColumnKeys>('keys', params);
  }

  /** '' when the filter parses, else its error (asked first, so a bad one is never listed). */
  async checkFilter(filter: string): Promise<string> {
    const params = new URLSearchParams({ filter: filter.trim() });
    const body = await this.json<{ ok: boolean; message?: string }>(
      'filter/check',
      params
    );
    return body.ok ? '' : (body.message ?? '');
  }

  /** The CSV of `ids` (else of every run the search finds) with `columns`. */
  async csv(
    search: ITableSearch,
    columns: string[],
    orderBy: string[],
    ids: string[] | null
  ): Promise<string> {
    const response = await this.fetch(
      this.path('runs/table/csv', searchParams(search)),
      {
        method: 'POST',
        body: JSON.stringify({ columns, ids, order_by: orderBy })
      }
    );
    return response.text();
  }

  /** Soft-deletes (or restores) `ids`; resolves to the ids changed. */
  async bulk(action: 'delete' | 'restore', ids: string[]): Promise<string[]> {
    const response = await this.fetch(this.path('runs/bulk'), {
      method: 'POST',
      body: JSON.stringify({ action, ids })
    });
    return ((await response.json()) as { ids: string[] }).ids;
  }

  private path(path: string, params = new URLSearchParams()): string {
    const notebook = this.notebook();
    if (notebook) {
      params.set('notebook', notebook);
    }
    const qs = params.toString();
    return qs ? `${path}?${qs}` : path;
  }

  private fetch(path: string, init: RequestInit): Promise<Response> {
    return fetchChecked(this.request, path, init);
  }

  private async json<T>(path: string, params: URLSearchParams): Promise<T> {
    const response = await this.fetch(this.path(path, params), {
      method: 'GET'
    });
    return (await response.json()) as T;
  }
}
