/**
 * What the run view shows of a failure, a replay and the notebook as it was, as plain data apart
 * from the components, so it can be unit-tested without a browser: the failing cell, the replay's
 * progress folded from its event stream, its verdict, and the recorded notebook's cells.
 */
import type {
  EnvPhase,
  ICellRecord,
  IDivergence,
  INotebookCell,
  INotebookOutput,
  IRecordedNotebook,
  IReplayEnvironment,
  IReplayReport,
  IUnmatched,
  IRunDetail,
  IRunFailure,
  ReplayEnv,
  ReplayEvent
} from './tokens';

/** The cell of the run's cell list that raised the run's failure; null when none matches. */
export function failingCell(run: IRunDetail): ICellRecord | null {
  const count = run.failure?.execution_count ?? null;
  if (count !== null) {
    const same = run.cells.filter(c => c.execution_count === count);
    const hit = same.find(c => c.status === 'error') ?? same[same.length - 1];
    if (hit) {
      return hit;
    }
  }
  const errors = run.cells.filter(c => c.status === 'error');
  return errors.length ? errors[errors.length - 1] : null;
}

/**
 * Why the run failed: its recorded failure, else (a run recorded before failures were kept) the
 * error of its last cell that raised; null for a run that did not fail.
 */
export function runFailure(run: IRunDetail): IRunFailure | null {
  if (run.failure) {
    return run.failure;
  }
  const cell = run.status === 'failed' ? failingCell(run) : null;
  if (!cell?.error) {
    return null;
  }
  return {
    type: cell.error.type,
    message: cell.error.message,
    line: null,
    lineno: null,
    execution_count: cell.execution_count
  };
}

/** A replay under way or done, as its event stream has told it so far. */
export interface IReplayProgress {
  env: ReplayEnv;
  /** The environment step last reported (recorded environment only). */
  envStep: {
    phase: EnvPhase;
    done: number | null;
    total: number | null;
    text: string;
  } | null;
  /** Cells replayed so far; null until the first one starts. */
  cells: { done: number; total: number | null } | null;
  /** The replay's notes so far: what differs from the recording (its summary, inputs, code). */
  notes: string[];
  /** Every environment difference (shown folded: it can be long). */
  allDifferences: string[];
  report: IReplayReport | null;
  error: string | null;
}

export function startReplay(env: ReplayEnv): IReplayProgress {
  return {
    env,
    envStep: null,
    cells: null,
    notes: [],
    allDifferences: [],
    report: null,
    error: null
  };
}

/** The progress after one more event of the stream. */
export function nextProgress(
  progress: IReplayProgress,
  event: ReplayEvent
): IReplayProgress {
  switch (event.event) {
    case 'env':
      return {
        ...progress,
        envStep: {
          phase: event.phase,
          done: event.done ?? null,
          total: event.total ?? null,
          text: event.text ?? ''
        }
      };
    case 'progress':
      return { ...progress, cells: { done: event.done, total: event.total } };
    case 'note':
      return event.kind === 'environment_all'
        ? {
            ...progress,
            allDifferences: progress.allDifferences.concat(event.text)
          }
        : { ...progress, notes: progress.notes.concat(event.text) };
    case 'result':
      return { ...progress, report: event.report };
    case 'error':
      return { ...progress, error: event.message };
  }
  return progress;
}

/** Whether the replay has ended (with a verdict or an error). */
export function replayEnded(progress: IReplayProgress): boolean {
  return progress.report !== null || progress.error !== null;
}

/** A replay's verdict in brief: reproduced or not, and where it first diverged and why. */
export interface IVerdict {
  reproduced: boolean;
  matched: number;
  total: number;
  unverified: number;
  /** The first diverging cell; null when it reproduced. */
  first: IDivergence | null;
  /** The other diverging cells. */
  then: IDivergence[];
}

export function verdictOf(report: IReplayReport): IVerdict {
  const divergences = report.divergences ?? [];
  return {
    reproduced: Boolean(report.reproduced),
    matched: report.cells_matched ?? 0,
    total: report.cells_total ?? 0,
    unverified: report.unverified ?? 0,
    first: divergences[0] ?? null,
    then: divergences.slice(1)
  };
}

/**
 * The first `lines` lines of a cell's code, without its cell magic line (`%%track ...` says
 * nothing about what the cell does), `…` when there is more.
 */
export function cellExcerpt(source: string, lines = 3): string {
  const code = source
    .split('\n')
    .filter((l, i) => l.trim() && !(i === 0 && l.startsWith('%%')));
  const head = code.slice(0, lines).join('\n');
  return code.length > lines ? `${head}\n…` : head;
}

/** `x appeared`, `y vanished`, `z differs` for a divergence's variables, sorted by name. */
export function variableChanges(d: IDivergence): string[] {
  return Object.keys(d.variables ?? {})
    .sort()
    .map(name => {
      const { recorded, replayed } = d.variables[name];
      const what =
        recorded === null
          ? 'appeared'
          : replayed === null
            ? 'vanished'
            : 'differs';
      return `${name} ${what}`;
    });
}

/** The number of distributions installed at their recorded versions, when it was reported. */
export function installedCount(env: IReplayEnvironment): number | null {
  const installed = env.installed;
  if (Array.isArray(installed)) {
    return installed.length;
  }
  if (typeof installed === 'number') {
    return installed;
  }
  return installed && typeof installed === 'object'
    ? Object.keys(installed).length
    : null;
}

/** One thing the replay's environment could not match, as a line: `name recorded: reason`. */
export function unmatchedText(u: IUnmatched | string): string {
  if (typeof u === 'string') {
    return u;
  }
  const what = u.recorded ? `${u.name} ${u.recorded}` : u.name;
  return u.reason ? `${what}: ${u.reason}` : what;
}

/** `idna 3.6, numpy 2.1.0`: the distributions the cells import, as the replay had them. */
export function importedText(env: IReplayEnvironment): string {
  return Object.entries(env.imported ?? {})
    .map(([name, version]) =>
      version ? `${name} ${version}` : `${name} (missing)`
    )
    .join(', ');
}

/** A cell's source as one string (nbformat stores it as a string or a list of lines). */
export function joinSource(source: string | string[] | undefined): string {
  return Array.isArray(source) ? source.join('') : (source ?? '');
}

/** One cell of the recorded notebook as the read-only view shows it. */
export interface IRecordedCell {
  key: string;
  kind: 'code' | 'markdown' | 'raw';
  source: string;
  /** The cell ran as part of the run. */
  inRun: boolean;
  /** The recorded execution count: the run's, else the notebook's. */
  executionCount: number | null;
  /** When the run executed it (ISO time), for the run's cells. */
  executedAt: string | null;
  /** The run's execution of it raised. */
  failed: boolean;
  outputs: INotebookOutput[];
}

export function recordedCells(nb: IRecordedNotebook): IRecordedCell[] {
  return (nb.cells ?? []).map((cell: INotebookCell, i) => {
    const meta = cell.metadata?.nbtrack ?? {};
    return {
      key: cell.id ? `${cell.id}-${i}` : String(i),
      kind: cell.cell_type,
      source: joinSource(cell.source),
      inRun: meta.in_run === true,
      executionCount: meta.execution_count ?? cell.execution_count ?? null,
      executedAt: meta.executed_at ?? null,
      failed: meta.in_run === true && meta.status === 'error',
      outputs: cell.cell_type === 'code' ? (cell.outputs ?? []) : []
    };
  });
}

/** What the recorded notebook's header names: the run, when it was recorded, from where. */
export interface IRecordedHeader {
  runId: string;
  runName: string;
  recordedAt: string | null;
  source: string | null;
  revision: string | null;
  /** Cells that ran in the run / cells in the notebook. */
  inRun: number;
  total: number;
  /** Execution counts of run cells the saved notebook does not hold. */
  unmatched: (number | null)[];
}

export function recordedHeader(
  nb: IRecordedNotebook,
  fallback: { id: string; name: string }
): IRecordedHeader {
  const meta = nb.metadata?.nbtrack ?? {};
  const cells = recordedCells(nb);
  const revision = meta.revision;
  return {
    runId: meta.run_id ?? fallback.id,
    runName: meta.run_name ?? fallback.name,
    recordedAt: meta.recorded_at ?? null,
    source: meta.source ?? null,
    revision:
      revision === null || revision === undefined
        ? null
        : typeof revision === 'string'
          ? revision
          : revisionText(revision),
    inRun: cells.filter(c => c.inRun).length,
    total: cells.length,
    unmatched: meta.unmatched ?? []
  };
}

/** A revision (`{path, hash, git_commit, ...}`) as `path · git 1a2b3c4` (else its hash). */
function revisionText(revision: unknown): string | null {
  if (typeof revision !== 'object' || revision === null) {
    return String(revision);
  }
  const r = revision as Record<string, unknown>;
  const text = (key: string): string | null =>
    typeof r[key] === 'string' && r[key] ? (r[key] as string) : null;
  const commit = text('git_commit');
  const hash = text('hash');
  const parts = [
    text('path'),
    commit
      ? `git ${commit.slice(0, 7)}`
      : hash
        ? `hash ${hash.slice(0, 12)}`
        : null
  ].filter((p): p is string => p !== null);
  return parts.length ? parts.join(' · ') : null;
}

/** The language the recorded notebook's code is in (for highlighting). */
export function notebookLanguage(nb: IRecordedNotebook): string {
  return (
    nb.metadata?.language_info?.name ??
    nb.metadata?.kernelspec?.language ??
    'python'
  );
}
