/**
 * Replaying and exporting a run: the Replay and Export buttons, and the replay's progress,
 * notes and verdict (cells reproduced, or where and likely why they diverged).
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import { firstLine } from '../../format';
import type { ExportFormat, IRunDetail, ReplayEvent } from '../../tokens';
import type { IRunState } from './useRun';

export interface IReplayState {
  /** The last progress, result or error event; null before a replay. */
  event: ReplayEvent | null;
  /** The replay's notes so far. */
  notes: string[];
  /** Replays the run in a fresh kernel, then reloads it (to list the new replay). */
  start: (runId: string) => Promise<void>;
}

export function useReplay(
  client: NbtrackClient,
  state: IRunState
): IReplayState {
  const [event, setEvent] = React.useState<ReplayEvent | null>(null);
  const [notes, setNotes] = React.useState<string[]>([]);
  const start = (runId: string): Promise<void> =>
    state.whileBusy(async () => {
      setEvent({ event: 'progress', done: 0, total: null });
      setNotes([]);
      try {
        await client.replay(runId, e => {
          if (e.event === 'note') {
            setNotes(prev => prev.concat(e.text));
          } else {
            setEvent(e);
          }
        });
        await state.reload();
      } catch (e) {
        setEvent({ event: 'error', message: (e as Error).message });
      }
    });
  return { event, notes, start };
}

const EXPORT_FORMATS: ExportFormat[] = ['script', 'notebook', 'bundle'];

/** The Replay button and one Export button per format (the download goes to `onDownload`). */
export function ReplayExportButtons(props: {
  client: NbtrackClient;
  run: IRunDetail;
  state: IRunState;
  replay: IReplayState;
  trans: TranslationBundle;
  onDownload: (blob: Blob, filename: string) => void;
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
        className="jp-mod-styled nbtrack-replay"
        onClick={() => void props.replay.start(run.id)}
        disabled={state.busy}
      >
        {trans.__('Replay')}
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

/** The running replay's progress or its outcome, then its notes. */
export function ReplayProgress(props: {
  replay: IReplayState;
  trans: TranslationBundle;
}): JSX.Element {
  const { event, notes } = props.replay;
  return (
    <>
      {event && <ReplayStatus event={event} trans={props.trans} />}
      {notes.length > 0 && (
        <pre className="nbtrack-replay-notes">{notes.join('\n')}</pre>
      )}
    </>
  );
}

function ReplayStatus(props: {
  event: ReplayEvent;
  trans: TranslationBundle;
}): JSX.Element {
  const { event, trans } = props;
  if (event.event === 'progress') {
    return (
      <div className="nbtrack-replay-status" role="status">
        {trans.__('Replaying…')}{' '}
        {event.total ? (
          <progress max={event.total} value={event.done} />
        ) : (
          <span>{event.done}</span>
        )}
      </div>
    );
  }
  if (event.event === 'note') {
    return <div className="nbtrack-replay-status">{event.text}</div>;
  }
  if (event.event === 'error') {
    return (
      <div className="nbtrack-error" role="alert">
        {event.message}
      </div>
    );
  }
  const report = event.report as {
    reproduced?: boolean;
    cells_total?: number;
    cells_matched?: number;
    divergences?: {
      index: number;
      execution_count: number | null;
      source: string;
      variables: Record<string, unknown>;
      causes?: string[];
    }[];
  };
  return (
    <div className="nbtrack-replay-status" role="status">
      <strong>
        {report.reproduced
          ? trans.__(
              'Reproduced %1/%2 cells',
              report.cells_matched ?? 0,
              report.cells_total ?? 0
            )
          : trans.__(
              'Diverged: %1/%2 cells matched',
              report.cells_matched ?? 0,
              report.cells_total ?? 0
            )}
      </strong>
      {(report.divergences ?? []).map(d => (
        <div key={d.index} className="nbtrack-divergence">
          [{d.execution_count ?? ' '}] <code>{firstLine(d.source)}</code>:{' '}
          {Object.keys(d.variables ?? {}).join(', ')}
          {(d.causes ?? []).map(c => (
            <div key={c} className="nbtrack-muted">
              {trans.__('likely cause: %1', c)}
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
