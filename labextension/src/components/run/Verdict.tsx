/**
 * A replay as it goes and when it is done: the steps of rebuilding the recorded environment
 * (resolve, create, install i/n, kernel), the cells replayed i/n, then the verdict box
 * (reproduced, or diverged at cell k and the likely cause) and what the replay ran in.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { firstLine } from '../../format';
import {
  cellExcerpt,
  importedText,
  installedCount,
  IReplayProgress,
  replayEnded,
  unmatchedText,
  variableChanges,
  verdictOf
} from '../../reproduce';
import type { EnvPhase, IReplayEnvironment, IReplayReport } from '../../tokens';

type StepState = 'done' | 'active' | 'pending';

const ENV_ORDER: EnvPhase[] = ['resolve', 'create', 'install', 'kernel'];

/** The replay's progress or outcome, then its notes; nothing before a replay. */
export function ReplayProgress(props: {
  progress: IReplayProgress | null;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { progress, trans } = props;
  if (!progress) {
    return null;
  }
  const ended = replayEnded(progress);
  return (
    <div
      className="nbtrack-replay-panel"
      data-env={progress.env}
      aria-busy={!ended}
    >
      {!ended && <Steps progress={progress} trans={trans} />}
      {progress.report && <VerdictBox report={progress.report} trans={trans} />}
      {progress.error && (
        <div className="nbtrack-error nbtrack-replay-error" role="alert">
          {progress.error}
        </div>
      )}
      {progress.notes.length > 0 && (
        <details className="nbtrack-replay-notes-box" open={!ended}>
          <summary>
            {trans._n(
              '%1 note of the replay',
              '%1 notes of the replay',
              progress.notes.length
            )}
          </summary>
          <pre className="nbtrack-replay-notes">
            {progress.notes.join('\n')}
          </pre>
        </details>
      )}
      {progress.allDifferences.length > 0 && (
        <details className="nbtrack-replay-notes-box nbtrack-replay-all">
          <summary>{trans.__('Every environment difference')}</summary>
          <pre className="nbtrack-replay-notes">
            {progress.allDifferences.join('\n')}
          </pre>
        </details>
      )}
    </div>
  );
}

/** The steps so far: the environment's (recorded only), then the cells'. */
function Steps(props: {
  progress: IReplayProgress;
  trans: TranslationBundle;
}): JSX.Element {
  const { progress, trans } = props;
  const step = progress.envStep;
  const cellsStarted = progress.cells !== null;
  const envDone =
    cellsStarted || step?.phase === 'ready' || step?.phase === 'cached';
  const at = step ? ENV_ORDER.indexOf(step.phase) : -1;
  const envState = (phase: EnvPhase): StepState =>
    envDone || ENV_ORDER.indexOf(phase) < at
      ? 'done'
      : phase === step?.phase
        ? 'active'
        : 'pending';
  const labels: Record<string, string> = {
    resolve: trans.__('Resolve the recorded environment'),
    create: trans.__('Create a virtual environment'),
    install: trans.__('Install packages'),
    kernel: trans.__('Install a kernel')
  };
  return (
    <ol
      className="nbtrack-replay-steps"
      role="status"
      aria-label={trans.__('Replay progress')}
    >
      {progress.env === 'recorded' &&
        (step?.phase === 'cached' ? (
          <Step
            state="done"
            phase="cached"
            label={trans.__('Environment taken from the cache')}
            text={step.text}
          />
        ) : (
          ENV_ORDER.map(phase => (
            <Step
              key={phase}
              phase={phase}
              state={envState(phase)}
              label={labels[phase]}
              done={phase === step?.phase ? step.done : null}
              total={phase === step?.phase ? step.total : null}
              text={phase === step?.phase && !envDone ? step.text : ''}
            />
          ))
        ))}
      <Step
        phase="cells"
        state={
          cellsStarted
            ? 'active'
            : progress.env === 'current'
              ? 'active'
              : 'pending'
        }
        label={trans.__('Replay the cells')}
        done={progress.cells?.done ?? null}
        total={progress.cells?.total ?? null}
        countText={cellsText(progress, trans)}
        text={progress.cells === null ? startingText(progress, trans) : ''}
      />
    </ol>
  );
}

/** `3 of 7 cells done` (never a bare count: "Replaying… 0" said nothing). */
function cellsText(
  progress: IReplayProgress,
  trans: TranslationBundle
): string {
  const cells = progress.cells;
  if (cells === null) {
    return '';
  }
  return cells.total
    ? trans.__('%1 of %2 cells done', cells.done, cells.total)
    : trans._n('%1 cell done', '%1 cells done', cells.done);
}

/** What happens before the first cell: a fresh kernel starts (once the environment is built). */
function startingText(
  progress: IReplayProgress,
  trans: TranslationBundle
): string {
  const built = ['ready', 'cached'].includes(progress.envStep?.phase ?? '');
  return progress.env === 'current' || built
    ? trans.__('starting a fresh kernel…')
    : '';
}

function Step(props: {
  phase: string;
  state: StepState;
  label: string;
  done?: number | null;
  total?: number | null;
  text: string;
  /** The count in words (else `done/total`). */
  countText?: string;
}): JSX.Element {
  const { done, total } = props;
  const counted =
    props.state === 'active' && done !== null && done !== undefined;
  return (
    <li
      className={`nbtrack-step nbtrack-step-${props.state}`}
      data-phase={props.phase}
    >
      <span className="nbtrack-step-mark" aria-hidden="true">
        {props.state === 'done' ? '✓' : props.state === 'active' ? '…' : '·'}
      </span>
      <span className="nbtrack-step-label">{props.label}</span>
      {counted && (
        <>
          {total ? <progress max={total} value={done} /> : null}
          <span className="nbtrack-step-count">
            {props.countText || (total ? `${done}/${total}` : String(done))}
          </span>
        </>
      )}
      {props.text && (
        <span className="nbtrack-step-text">{firstLine(props.text, 120)}</span>
      )}
    </li>
  );
}

/** The verdict: a green box when every cell reproduced, else a red one naming the divergence. */
export function VerdictBox(props: {
  report: IReplayReport;
  trans: TranslationBundle;
}): JSX.Element {
  const { report, trans } = props;
  const v = verdictOf(report);
  return (
    <div
      className={`nbtrack-verdict ${v.reproduced ? 'nbtrack-verdict-ok' : 'nbtrack-verdict-diverged'}`}
      role="status"
    >
      <div className="nbtrack-verdict-head">
        <span className="nbtrack-verdict-mark" aria-hidden="true">
          {v.reproduced ? '✓' : '✗'}
        </span>
        <strong>
          {v.reproduced
            ? trans.__('Reproduced: %1/%2 cells match', v.matched, v.total)
            : v.first
              ? trans.__(
                  'Diverged at cell [%1]: %2/%3 cells match',
                  v.first.execution_count ?? v.first.index,
                  v.matched,
                  v.total
                )
              : trans.__('Diverged: %1/%2 cells match', v.matched, v.total)}
        </strong>
      </div>
      {v.unverified > 0 && (
        <div className="nbtrack-verdict-note">
          {trans._n(
            '%1 cell ran before nbtrack was loaded: its state was not recorded',
            '%1 cells ran before nbtrack was loaded: their state was not recorded',
            v.unverified
          )}
        </div>
      )}
      {v.first && (
        <div className="nbtrack-divergence">
          <pre className="nbtrack-divergence-code">
            <span className="nbtrack-cell-count">
              [{v.first.execution_count ?? ' '}]
            </span>{' '}
            {cellExcerpt(v.first.source)}
          </pre>
          {variableChanges(v.first).length > 0 && (
            <div>{variableChanges(v.first).join(', ')}</div>
          )}
          {(v.first.causes ?? []).map(c => (
            <div key={c} className="nbtrack-cause">
              {trans.__('Likely cause: %1', c)}
            </div>
          ))}
          {(v.first.causes ?? []).length === 0 && (
            <div className="nbtrack-cause nbtrack-cause-unknown">
              {trans.__('No likely cause found in the cell’s code')}
            </div>
          )}
        </div>
      )}
      {v.then.length > 0 && (
        <details className="nbtrack-divergence-more">
          <summary>
            {trans._n(
              'then %1 more cell diverged',
              'then %1 more cells diverged',
              v.then.length
            )}
          </summary>
          {v.then.map(d => (
            <div key={d.index} className="nbtrack-divergence">
              <pre className="nbtrack-divergence-code">
                <span className="nbtrack-cell-count">
                  [{d.execution_count ?? ' '}]
                </span>{' '}
                {cellExcerpt(d.source, 1)}
              </pre>
              {(d.causes ?? []).map(c => (
                <div key={c} className="nbtrack-cause">
                  {trans.__('Likely cause: %1', c)}
                </div>
              ))}
            </div>
          ))}
        </details>
      )}
      {report.environment && (
        <EnvironmentSummary env={report.environment} trans={trans} />
      )}
    </div>
  );
}

/** What the replay ran in: the Python, how many packages matched, what could not be matched. */
function EnvironmentSummary(props: {
  env: IReplayEnvironment;
  trans: TranslationBundle;
}): JSX.Element {
  const { env, trans } = props;
  const installed = installedCount(env);
  const facts = [
    env.mode === 'recorded'
      ? trans.__('Recorded environment')
      : trans.__('Current environment'),
    env.python ? trans.__('Python %1', env.python) : null,
    env.mode === 'recorded' && installed !== null
      ? trans._n('%1 package installed', '%1 packages installed', installed)
      : null,
    env.cached ? trans.__('from the cache') : null
  ].filter((f): f is string => f !== null);
  const unmatched = env.unmatched ?? [];
  const imported = importedText(env);
  return (
    <div className="nbtrack-verdict-env">
      <div className="nbtrack-verdict-env-facts">{facts.join(' · ')}</div>
      {imported && (
        <div className="nbtrack-verdict-imported">
          {trans.__('Imported by the cells: %1', imported)}
        </div>
      )}
      {unmatched.length > 0 ? (
        <div className="nbtrack-unmatched">
          <span>{trans.__('Could not be matched:')}</span>
          <ul>
            {unmatched.map(u => (
              <li key={unmatchedText(u)}>{unmatchedText(u)}</li>
            ))}
          </ul>
        </div>
      ) : (
        env.mode === 'recorded' && (
          <div className="nbtrack-muted-inline">
            {trans.__('Everything recorded was matched')}
          </div>
        )
      )}
    </div>
  );
}
