/**
 * Replaying, reproducing and exporting a run: the Replay (current environment), Reproduce
 * (recorded environment), "Notebook as recorded" and Export buttons, and the state of the replay
 * they start (its progress and verdict are shown by ReplayProgress, in Verdict.tsx).
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import {
  IReplayProgress,
  nextProgress,
  replayEnded,
  startReplay
} from '../../reproduce';
import type { ExportFormat, IRunDetail, ReplayEnv } from '../../tokens';
import type { IRunState } from './useRun';

export interface IReplayState {
  /** The replay under way or the last one; null before a replay. */
  progress: IReplayProgress | null;
  /**
   * Replays the run in a fresh kernel (`recorded`: in its rebuilt recorded environment), then
   * reloads it (to list the new replay).
   */
  start: (runId: string, env: ReplayEnv) => Promise<void>;
  /** Hides the last replay's progress and verdict (another action's outcome replaces it). */
  clear: () => void;
}

export function useReplay(
  client: NbtrackClient,
  state: IRunState
): IReplayState {
  const [progress, setProgress] = React.useState<IReplayProgress | null>(null);
  const start = (runId: string, env: ReplayEnv): Promise<void> =>
    state.whileBusy(async () => {
      state.say(null);
      let current = startReplay(env);
      setProgress(current);
      try {
        await client.replay(
          runId,
          e => {
            current = nextProgress(current, e);
            setProgress(current);
          },
          env === 'recorded' ? env : undefined
        );
        if (!replayEnded(current)) {
          current = nextProgress(current, {
            event: 'error',
            message: 'the replay stopped before its verdict'
          });
          setProgress(current);
        }
        await state.reload();
      } catch (e) {
        setProgress(
          nextProgress(current, {
            event: 'error',
            message: (e as Error).message
          })
        );
      }
    });
  const clear = React.useCallback(() => setProgress(null), []);
  return { progress, start, clear };
}

const EXPORT_FORMATS: ExportFormat[] = ['script', 'notebook', 'bundle'];

/**
 * The Replay and Reproduce buttons, the button that opens the notebook as it was, and one
 * Export button per format (the download goes to `onDownload`).
 */
export function ReplayExportButtons(props: {
  client: NbtrackClient;
  run: IRunDetail;
  state: IRunState;
  replay: IReplayState;
  trans: TranslationBundle;
  onDownload: (blob: Blob, filename: string) => void;
  /** Opens the notebook as it was when the run was recorded, read-only. */
  onOpenRecorded: (run: IRunDetail) => void;
}): JSX.Element {
  const { client, run, state, trans } = props;
  const doExport = async (format: ExportFormat): Promise<void> => {
    try {
      state.say(null);
      const { blob, filename } = await client.exportRun(run.id, format);
      props.onDownload(blob, filename);
      state.say(
        trans.__(
          'Exported: %1 went to your browser’s downloads (its Downloads folder unless you chose another)',
          filename
        ),
        'success'
      );
    } catch (e) {
      state.say(trans.__('Export failed: %1', (e as Error).message), 'error');
    }
  };
  const labels: Record<ExportFormat, string> = {
    script: trans.__('Export script'),
    notebook: trans.__('Export notebook'),
    bundle: trans.__('Export bundle')
  };
  // a run made by a script (nbtrack.start_run outside a notebook) has no cells to replay
  const noCells = run.cells.length === 0;
  const why = trans.__(
    'This run recorded no notebook cells (it was made outside a notebook, e.g. by a Python script with nbtrack.start_run), so there is nothing to replay'
  );
  return (
    <>
      <button
        className="jp-mod-styled jp-mod-accept nbtrack-reproduce"
        onClick={() => void props.replay.start(run.id, 'recorded')}
        disabled={state.busy || noCells}
        title={
          noCells
            ? why
            : trans.__(
                'Rebuild the environment the run was recorded in, replay its cells there and check them against the recording'
              )
        }
      >
        {trans.__('Reproduce')}
      </button>
      <button
        className="jp-mod-styled nbtrack-replay"
        onClick={() => void props.replay.start(run.id, 'current')}
        disabled={state.busy || noCells}
        title={
          noCells
            ? why
            : trans.__(
                'Replay the cells in a fresh kernel of the current environment'
              )
        }
      >
        {trans.__('Replay')}
      </button>
      <button
        className="jp-mod-styled nbtrack-open-recorded"
        onClick={() => props.onOpenRecorded(run)}
        disabled={noCells}
        title={
          noCells
            ? trans.__(
                'This run recorded no notebook cells (it was made outside a notebook), so there is no notebook as recorded'
              )
            : trans.__(
                'Open the notebook as it was when the run was recorded, read-only'
              )
        }
      >
        {trans.__('Notebook as recorded')}
      </button>
      {EXPORT_FORMATS.map(f => (
        <button
          key={f}
          className={`jp-mod-styled nbtrack-export nbtrack-export-${f}`}
          onClick={() => void doExport(f)}
        >
          {labels[f]}
        </button>
      ))}
    </>
  );
}
