/**
 * Shapes of the nbtrack server API (`/nbtrack/api/`) and the ids the extension registers.
 */

/** A metric value as sent by the server: NaN and infinities arrive as strings. */
export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity';

export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

export interface IRunSummary {
  id: string;
  name: string;
  experiment: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  duration: number | null;
  user: string | null;
  notes: string | null;
  params: Record<string, string>;
  metrics: Record<string, MetricValue>;
  tags: Record<string, string>;
  deleted_at: number | null;
  /** The run this one is nested in; null for a top-level run. */
  parent_run_id: string | null;
  replay_of: string | null;
  reproduced: boolean | null;
  notebook_path: string | null;
}

export interface IRunPage {
  runs: IRunSummary[];
  next_page_token: string | null;
  store: string;
}

export interface ICellRecord {
  index: number;
  seq: number;
  execution_count: number | null;
  cell_id: string | null;
  source: string;
  status: 'ok' | 'error';
  error: { type: string; message: string } | null;
  in_run: boolean;
  start_time: number;
  end_time: number;
  created: string[];
  changed: string[];
  deleted: string[];
  state: Record<string, string>;
}

export interface IMetricSummary {
  latest: MetricValue;
  min: MetricValue;
  max: MetricValue;
  step: number;
  count: number;
}

/** A file the run's cells read, or one it declared as an input. */
export interface IRunInput {
  path: string;
  mode: 'input' | 'read';
  /** Content hash; null when the file could not be hashed. */
  hash: string | null;
  size: number | null;
}

export interface IArtifact {
  path: string;
  size: number;
  /** Hash of the stored blob. */
  hash: string;
  created: number;
}

/** The environment of a run whose manifest was recorded but cannot be read (or is not an object). */
export interface IEnvironmentRef {
  hash: string;
  /** The manifest when it is JSON but not an object. */
  value?: unknown;
}

export interface IReplaySummary {
  id: string;
  name: string;
  status: RunStatus;
  reproduced: boolean | null;
  start_time: number;
}

/** `GET /runs/ID`: nbtrack.query.runs.read_run. */
export interface IRunDetail extends IRunSummary {
  cells: ICellRecord[];
  metric_summary: Record<string, IMetricSummary>;
  artifacts: IArtifact[];
  /** Files the cells read and inputs the run declared. */
  inputs: IRunInput[];
  notebook: {
    path: string | null;
    hash: string | null;
    git_commit: string | null;
    git_diff_hash: string | null;
  };
  /** The run's environment manifest (else its session's); null when none was recorded. */
  environment: Record<string, unknown> | IEnvironmentRef | null;
  session: Record<string, unknown> | null;
  /** The runs that replayed this one, newest first. */
  replays: IReplaySummary[];
}

export interface IMetricPoint {
  step: number;
  value: MetricValue;
  timestamp: number;
  cell_seq: number | null;
}

export interface IMetricSeries {
  run_id: string;
  key: string;
  total: number;
  downsampled: boolean;
  points: IMetricPoint[];
}

export interface IExperiment {
  name: string;
  runs: number;
  last_start: number | null;
}

export interface IListQuery {
  filter?: string;
  experiment?: string[];
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string | null;
  includeDeleted?: boolean;
}

export type ExportFormat = 'script' | 'notebook' | 'bundle';

/** One line of the replay progress stream. */
export type ReplayEvent =
  | { event: 'progress'; done: number; total: number | null }
  | { event: 'note'; kind: string; text: string }
  | { event: 'result'; report: Record<string, unknown> }
  | { event: 'error'; message: string };

/** One row of a comparison: a value per compared run (`null` where unset), `same` across all. */
export interface ICompareRow<T> {
  key: string;
  values: (T | null)[];
  same: boolean;
}

export interface IMetricRange {
  min: MetricValue | null;
  max: MetricValue | null;
  last: MetricValue | null;
}

export interface IDiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

export interface ICellRef {
  index: number | null;
  execution_count: number | null;
  in_run: boolean;
}

/** One cell of a code diff (nbtrack.codediff.diff_cells). */
export interface ICellDiff {
  kind: 'same' | 'added' | 'removed' | 'changed';
  a: ICellRef | null;
  b: ICellRef | null;
  lines: IDiffLine[];
}

export interface ICodeDiff {
  a: string;
  b: string;
  cells: ICellDiff[];
}

/** `GET /compare?runs=...`: runs in the order asked, every row, the first two runs' code diff. */
export interface IComparison {
  runs: {
    id: string;
    name: string;
    experiment: string;
    status: RunStatus;
    start_time: string | null;
  }[];
  params: ICompareRow<string>[];
  metrics: ICompareRow<IMetricRange>[];
  tags: ICompareRow<string>[];
  code: ICodeDiff[];
}

export namespace CommandIDs {
  export const openSidebar = 'nbtrack:open-sidebar';
  export const refresh = 'nbtrack:refresh';
  export const openRun = 'nbtrack:open-run';
  export const focusFilter = 'nbtrack:focus-filter';
  export const compareRuns = 'nbtrack:compare-runs';
  export const clearSelection = 'nbtrack:clear-selection';
}

export const PLUGIN_ID = 'nbtrack:plugin';
