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
  /** How deep it is nested under the listed runs (listed with `nest`); 0 at top level. */
  depth?: number;
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

/** Why a failed run failed: its exception and the line that raised it. */
export interface IRunFailure {
  type: string;
  message: string;
  /** The failing line of the user's code; null when it is not known. */
  line: string | null;
  lineno: number | null;
  /** The execution count of the failing cell. */
  execution_count: number | null;
}

/** `GET /runs/ID`: nbtrack.query.runs.read_run. */
export interface IRunDetail extends IRunSummary {
  /** Set on a failed run; null (or absent, from an older server) otherwise. */
  failure?: IRunFailure | null;
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
  /** Each run right after its parent, with its `depth` (nbtrack.query.runtree.nest). */
  nest?: boolean;
}

export type ExportFormat = 'script' | 'notebook' | 'bundle';

/** Where a replay runs: the kernel at hand, or an environment rebuilt from the recorded one. */
export type ReplayEnv = 'current' | 'recorded';

/** The steps of rebuilding a run's environment, in order (`cached`: reused as it was). */
export type EnvPhase =
  'resolve' | 'create' | 'install' | 'kernel' | 'ready' | 'cached';

/** A recorded part of the environment the replay's does not reproduce, and why. */
export interface IUnmatched {
  name: string;
  /** The recorded version (or value); null when there was none. */
  recorded: string | null;
  reason: string;
}

/** What the replay ran in (nbtrack.reproduce.replay: the report's `environment`). */
export interface IReplayEnvironment {
  mode: ReplayEnv;
  /** The environment was taken from the cache (built before, same content). */
  cached: boolean;
  /** The environment's Python version. */
  python: string | null;
  /** Distributions installed at their recorded versions: name to version (or a count). */
  installed: Record<string, string> | string[] | number | null;
  /** What could not be matched (the Python version, a local package, ...). */
  unmatched: (IUnmatched | string)[];
  /** The distributions the run's cells import, and their versions in the replay. */
  imported?: Record<string, string | null>;
  /** Recorded distributions left out (not imported by the run's cells). */
  skipped?: string[];
}

/** A cell that diverged on replay, and its likely causes. */
export interface IDivergence {
  index: number;
  execution_count: number | null;
  source: string;
  variables: Record<
    string,
    { recorded: string | null; replayed: string | null }
  >;
  error?: { recorded: unknown; replayed: unknown } | null;
  causes?: string[];
}

/** The verdict of a replay (nbtrack.reproduce.report.ReplayReport.to_json). */
export interface IReplayReport {
  run_id?: string;
  replay_run_id?: string | null;
  reproduced?: boolean;
  cells_total?: number;
  cells_matched?: number;
  divergences?: IDivergence[];
  unverified?: number;
  environment?: IReplayEnvironment | null;
}

/** One line of the replay progress stream. */
export type ReplayEvent =
  | {
      event: 'env';
      phase: EnvPhase;
      done: number | null;
      total: number | null;
      text: string;
    }
  | { event: 'progress'; done: number; total: number | null }
  | { event: 'note'; kind: string; text: string }
  | { event: 'result'; report: IReplayReport }
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

/** The code diff of two runs: `cells` diffs their own bodies, `history` their whole sequences. */
export interface ICodeDiff {
  a: string;
  b: string;
  cells: ICellDiff[];
  history?: ICellDiff[];
}

export type CompareChart = 'overlay' | 'parallel' | 'scatter';

/** The charts of a comparison: vega-lite specs made by nbtrack.query.comparecharts. */
export interface ICompareCharts {
  options: {
    metrics: string[];
    fields: string[];
    metric: string;
    x: string;
    y: string;
  };
  overlay: Record<string, unknown>;
  parallel: Record<string, unknown>;
  scatter: Record<string, unknown>;
  /** Why a chart is empty (`{}`). */
  messages: Partial<Record<CompareChart, string>>;
}

/** What the charts show: `metric` (overlay, colour), `x` and `y` (scatter); unset: defaults. */
export interface IChartChoice {
  metric?: string;
  x?: string;
  y?: string;
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
  charts?: ICompareCharts;
}

/** A cell of a notebook as nbformat v4 stores it (the fields the recorded view reads). */
export interface INotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: string | string[];
  metadata?: {
    nbtrack?: {
      in_run?: boolean;
      execution_count?: number | null;
      executed_at?: string | null;
      status?: 'ok' | 'error';
    };
    [key: string]: unknown;
  };
  execution_count?: number | null;
  outputs?: INotebookOutput[];
}

/** A code cell's output as nbformat v4 stores it. */
export interface INotebookOutput {
  output_type: 'stream' | 'execute_result' | 'display_data' | 'error';
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[] | unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** `GET /runs/ID/notebook-as-recorded`: the notebook as it was when the run was recorded. */
export interface IRecordedNotebook {
  cells: INotebookCell[];
  metadata: {
    nbtrack?: {
      as_recorded?: boolean;
      run_id?: string;
      run_name?: string;
      recorded_at?: string | null;
      revision?: unknown;
      source?: string | null;
      /** Execution counts of run cells that the saved notebook does not hold. */
      unmatched?: (number | null)[];
    };
    language_info?: { name?: string };
    kernelspec?: { language?: string };
    [key: string]: unknown;
  };
  nbformat: number;
  nbformat_minor: number;
}

export namespace CommandIDs {
  export const openSidebar = 'nbtrack:open-sidebar';
  export const refresh = 'nbtrack:refresh';
  export const openRun = 'nbtrack:open-run';
  export const focusFilter = 'nbtrack:focus-filter';
  export const compareRuns = 'nbtrack:compare-runs';
  export const clearSelection = 'nbtrack:clear-selection';
  export const openRunsTable = 'nbtrack:open-runs-table';
}

export const PLUGIN_ID = 'nbtrack:plugin';
