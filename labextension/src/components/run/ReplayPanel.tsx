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
}

export function useReplay(
  client: NbtrackClient,
  state: IRunState
): IReplayState {
  const [progress, setProgress] = React.useState<IReplayProgress | null>(null);
  const start = (runId: string, env: ReplayEnv): Promise<void> =>
    state.whileBusy(async () => {
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
  return { progress, start };
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
      const { blob, filename } = await client.exportRun(run.id, format);
      props.onDownload(blob, filename);
      state.say(trans.__('Exported %1', filename));
    } catch (e) {
      state.say((e as Error).message);
    }
  };
  const labels: Record<ExportFormat, string> = {
    script: trans.__('Export script'),
    notebook: trans.__('Export notebook'),
    bundle: trans.__('Export bundle')
  };
  return (
    <>
      <button
        className="jp-mod-styled jp-mod-accept nbtrack-reproduce"
        onClick={() => void props.replay.start(run.id, 'recorded')}
        disabled={state.busy}
        title={trans.__(
          'Rebuild the environment the run was recorded in, replay its cells there and check them against the recording'
        )}
      >
        {trans.__('Reproduce')}
      </button>
      <button
        className="jp-mod-styled nbtrack-replay"
        onClick={() => void props.replay.start(run.id, 'current')}
        disabled={state.busy}
        title={trans.__(
          'Replay the cells in a fresh kernel of the current environment'
        )}
      >
        {trans.__('Replay')}
      </button>
      <button
        className="jp-mod-styled nbtrack-open-recorded"
        onClick={() => props.onOpenRecorded(run)}
        title={trans.__(
          'Open the notebook as it was when the run was recorded, read-only'
        )}
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
