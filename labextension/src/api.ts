/**
 * A typed client of the nbtrack server API. It depends only on a `Requester` so it can be
 * tested with plain `fetch`; in JupyterLab the requester is `ServerConnection.makeRequest`
 * (see request.ts), which adds the token and XSRF headers.
 */
import type {
  ExportFormat,
  IChartChoice,
  IComparison,
  IExperiment,
  IListQuery,
  IMetricSeries,
  IRecordedNotebook,
  IRunDetail,
  IRunPage,
  IRunSummary,
  ReplayEnv,
  ReplayEvent
} from './tokens';
import type { IFilterKeys } from './filter';

/** Sends a request to `<server>/nbtrack/api/<path>`. */
export type Requester = (path: string, init: RequestInit) => Promise<Response>;

/** An error answer of the server, carrying its `message` for the user. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** `runs?filter=...&experiment=a&experiment=b` from a list query. */
export function listPath(query: IListQuery, notebook?: string | null): string {
  const params = new URLSearchParams();
  if (query.filter && query.filter.trim()) {
    params.set('filter', query.filter.trim());
  }
  for (const e of query.experiment ?? []) {
    params.append('experiment', e);
  }
  for (const o of query.orderBy ?? []) {
    params.append('order_by', o);
  }
  if (query.maxResults !== undefined) {
    params.set('max_results', String(query.maxResults));
  }
  if (query.pageToken) {
    params.set('page_token', query.pageToken);
  }
  if (query.includeDeleted) {
    params.set('include_deleted', '1');
  }
  if (query.nest) {
    params.set('nest', '1');
  }
  return withNotebook('runs', params, notebook);
}

function withNotebook(
  path: string,
  params: URLSearchParams,
  notebook?: string | null
): string {
  if (notebook) {
    params.set('notebook', notebook);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function checkId(id: string): string {
  if (!/^[0-9a-fA-F]{1,32}$/.test(id)) {
    throw new ApiError(400, `not a run id: ${JSON.stringify(id)}`);
  }
  return id;
}

function runPath(id: string, rest = ''): string {
  return `runs/${checkId(id)}${rest}`;
}

/** `compare?runs=a,b,c`: the runs in the order given, each checked to be a run id; `charts`
 * chooses what the charts show (`metric`, `x`, `y`). */
export function comparePath(
  ids: string[],
  notebook?: string | null,
  charts: IChartChoice = {}
): string {
  if (ids.length < 2) {
    throw new ApiError(400, 'compare needs at least two runs');
  }
  const params = new URLSearchParams({ runs: ids.map(checkId).join(',') });
  for (const key of ['metric', 'x', 'y'] as const) {
    if (charts[key]) {
      params.set(key, charts[key] as string);
    }
  }
  return withNotebook('compare', params, notebook);
}

export class NbtrackClient {
  /**
   * @param request - sends one request to the API namespace.
   * @param notebook - returns the server path of the open notebook, whose store is preferred.
   */
  constructor(
    private readonly request: Requester,
    private readonly notebook: () => string | null = () => null
  ) {}

  listRuns(query: IListQuery = {}): Promise<IRunPage> {
    return this.json<IRunPage>(listPath(query, this.notebook()));
  }

  getRun(id: string): Promise<IRunDetail> {
    return this.json<IRunDetail>(this.path(runPath(id)));
  }

  metric(id: string, key: string, maxPoints?: number): Promise<IMetricSeries> {
    const params = new URLSearchParams({ key });
    if (maxPoints) {
      params.set('max_points', String(maxPoints));
    }
    return this.json<IMetricSeries>(this.path(runPath(id, '/metrics'), params));
  }

  async experiments(): Promise<IExperiment[]> {
    const body = await this.json<{ experiments: IExperiment[] }>(
      this.path('experiments')
    );
    return body.experiments;
  }

  /** Params, metrics and tags of `ids` side by side, their charts, the code diff of the first two. */
  async compare(
    ids: string[],
    charts: IChartChoice = {}
  ): Promise<IComparison> {
    return this.json<IComparison>(comparePath(ids, this.notebook(), charts));
  }

  rename(id: string, name: string): Promise<IRunSummary> {
    return this.send<IRunSummary>('PATCH', this.path(runPath(id)), { name });
  }

  setNotes(id: string, notes: string): Promise<IRunSummary> {
    return this.send<IRunSummary>('PATCH', this.path(runPath(id)), { notes });
  }

  setTags(
    id: string,
    tags: Record<string, string>
  ): Promise<{ id: string; tags: Record<string, string> }> {
    return this.send('PUT', this.path(runPath(id, '/tags')), { tags });
  }

  deleteTag(
    id: string,
    key: string
  ): Promise<{ id: string; tags: Record<string, string> }> {
    const params = new URLSearchParams({ key });
    return this.send('DELETE', this.path(runPath(id, '/tags'), params));
  }

  /** Deletes the run and the runs nested under it; `ids` names them all. */
  deleteRun(
    id: string
  ): Promise<{ id: string; ids: string[]; deleted: boolean }> {
    return this.send('DELETE', this.path(runPath(id)));
  }

  /** The run and the runs nested under it: what `deleteRun` would delete. */
  async runsDeletedWith(id: string): Promise<string[]> {
    const params = new URLSearchParams({ dry_run: '1' });
    const body = await this.send<{ ids: string[] }>(
      'DELETE',
      this.path(runPath(id), params)
    );
    return body.ids;
  }

  /** The keys stored in `experiment` ('' for all) and the attributes, for the filter box. */
  filterKeys(experiment = ''): Promise<IFilterKeys> {
    const params = new URLSearchParams();
    if (experiment) {
      params.set('experiment', experiment);
    }
    return this.json<IFilterKeys>(this.path('keys', params));
  }

  /** '' when `filter` parses, else the server's message (asked with a 200 either way). */
  async checkFilter(filter: string): Promise<string> {
    const params = new URLSearchParams({ filter: filter.trim() });
    const body = await this.json<{ ok: boolean; message?: string }>(
      this.path('filter/check', params)
    );
    return body.ok ? '' : (body.message ?? '');
  }

  restoreRun(id: string): Promise<{ id: string; deleted: boolean }> {
    return this.send('POST', this.path(runPath(id, '/restore')), {});
  }

  /** The path (under the API namespace) that downloads an artifact. */
  artifactPath(id: string, path: string): string {
    return this.path(runPath(id, '/artifact'), new URLSearchParams({ path }));
  }

  /** Downloads an export of the run; resolves to its bytes and suggested file name. */
  async exportRun(
    id: string,
    format: ExportFormat
  ): Promise<{ blob: Blob; filename: string }> {
    const params = new URLSearchParams({ format });
    const response = await this.fetch(
      this.path(runPath(id, '/export'), params),
      {
        method: 'GET'
      }
    );
    const disposition = response.headers.get('Content-Disposition') ?? '';
    const match = /filename="([^"]+)"/.exec(disposition);
    return {
      blob: await response.blob(),
      filename: match ? match[1] : `nbtrack-${id}.${format}`
    };
  }

  /** The notebook as it was when the run was recorded, its cells of the run marked. */
  recordedNotebook(id: string): Promise<IRecordedNotebook> {
    return this.json<IRecordedNotebook>(
      this.path(runPath(id, '/notebook-as-recorded'))
    );
  }

  /**
   * Starts a replay and calls `onEvent` for each progress line; resolves with the last event.
   * With `env: 'recorded'` the server first rebuilds the run's recorded environment (its `env`
   * events), and replays there; without it, in the current environment.
   */
  async replay(
    id: string,
    onEvent: (event: ReplayEvent) => void,
    env?: ReplayEnv
  ): Promise<ReplayEvent | null> {
    const response = await this.fetch(this.path(runPath(id, '/replay')), {
      method: 'POST',
      body: env ? JSON.stringify({ env }) : '{}'
    });
    let last: ReplayEvent | null = null;
    const emit = (line: string): void => {
      if (line.trim()) {
        last = JSON.parse(line) as ReplayEvent;
        onEvent(last);
      }
    };
    if (!response.body) {
      (await response.text()).split('\n').forEach(emit);
      return last;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      lines.forEach(emit);
    }
    emit(buffer);
    return last;
  }

  private path(path: string, params = new URLSearchParams()): string {
    return withNotebook(path, params, this.notebook());
  }

  private fetch(path: string, init: RequestInit): Promise<Response> {
    return fetchChecked(this.request, path, init);
  }

  private async json<T>(path: string): Promise<T> {
    const response = await this.fetch(path, { method: 'GET' });
    return (await response.json()) as T;
  }

  private async send<T>(
    method: string,
    path: string,
    body?: unknown
  ): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    const response = await this.fetch(path, init);
    return (await response.json()) as T;
  }
}

/**
 * A request through `request` whose failure is an ApiError: status 0 when the server cannot be
 * reached, else the server's JSON `{message}` (both clients go through it).
 */
export async function fetchChecked(
  request: Requester,
  path: string,
  init: RequestInit
): Promise<Response> {
  let response: Response;
  try {
    response = await request(path, init);
  } catch (err) {
    throw new ApiError(0, `cannot reach the Jupyter server: ${String(err)}`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, await errorMessage(response));
  }
  return response;
}

/**
 * What a 404 without nbtrack's JSON error body means: Jupyter answered for a route it does not
 * know, so the server extension that serves `/nbtrack/api/` is not loaded (not installed, or
 * installed but disabled).
 */
export const SERVER_EXTENSION_MISSING =
  "nbtrack's server extension is not enabled in this Jupyter server. " +
  'Run pip install "nbtrack[lab]" in the environment that runs JupyterLab ' +
  '(or, if it is installed, jupyter server extension enable nbtrack.server), then restart it.';

/**
 * The `message` of nbtrack's JSON error body; for a 404 without one, that the server extension
 * is missing; else the status line.
 */
export async function errorMessage(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (body && typeof body.message === 'string' && body.message) {
      return body.message;
    }
  } catch {
    // not JSON: fall through
  }
  if (response.status === 404) {
    return SERVER_EXTENSION_MISSING;
  }
  return `${response.status} ${response.statusText || 'error'}`.trim();
}
