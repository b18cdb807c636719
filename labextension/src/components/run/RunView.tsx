/**
 * The main-area view of one run: what it did, on what, and what came out. It loads the run
 * (useRun) and lays out the parts, each in its own module with the state it edits.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ISignal } from '@lumino/signaling';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import type { ICellRecord, IRunDetail } from '../../tokens';
import { Cells } from './Cells';
import { Datasets } from './Datasets';
import { FailureBanner } from './FailureBanner';
import { Header } from './Header';
import { Metrics } from './Metrics';
import { Models } from './Models';
import { Notes } from './Notes';
import {
  Artifacts,
  Environment,
  NotebookRevision,
  Replays
} from './Provenance';
import { ReplayExportButtons, useReplay } from './ReplayPanel';
import { KeyValues, Section } from './Section';
import { Tags } from './Tags';
import { MessageKind, useRun } from './useRun';
import { ReplayProgress } from './Verdict';

export interface IRunViewProps {
  client: NbtrackClient;
  runId: string;
  trans: TranslationBundle;
  chartPoints: number;
  /** Scrolls the open notebook to a cell; false when the cell is not there any more. */
  onCell: (cell: ICellRecord, run: IRunDetail) => boolean;
  onDownload: (blob: Blob, filename: string) => void;
  artifactUrl: (runId: string, path: string) => string;
  /** Opens the notebook as it was when the run was recorded, read-only. */
  onOpenRecorded: (run: IRunDetail) => void;
  /** Called after an edit, so the sidebar shows it. */
  onChanged: () => void;
  /** Emits a run's id when its open tab is asked for again: the view reloads it. */
  reopened?: ISignal<unknown, string>;
}

export function RunView(props: IRunViewProps): JSX.Element {
  const { client, trans } = props;
  const state = useRun(client, props.runId, props.onChanged);
  const replay = useReplay(client, state);
  const { run } = state;
  // one outcome at a time: an action's message replaces the last replay's verdict
  const { reopened, runId } = props;
  const reload = state.reload;
  React.useEffect(() => {
    const onReopen = (_: unknown, id: string): void => {
      if (id === runId) {
        void reload();
      }
    };
    reopened?.connect(onReopen);
    return () => {
      reopened?.disconnect(onReopen);
    };
  }, [reopened, runId, reload]);
  const clearReplay = replay.clear;
  React.useEffect(() => {
    if (state.message) {
      clearReplay();
    }
  }, [state.message, clearReplay]);
  const root = React.useRef<HTMLDivElement>(null);

  if (state.error) {
    return (
      <div className="nbtrack-runview">
        <div className="nbtrack-error" role="alert">
          {state.error}
        </div>
      </div>
    );
  }
  if (!run) {
    return (
      <div className="nbtrack-runview nbtrack-loading">
        {trans.__('Loading…')}
      </div>
    );
  }
  const parts = { client, run, state, trans };
  return (
    <div className="nbtrack-runview" data-run-id={run.id} ref={root}>
      <FailureBanner
        run={run}
        trans={trans}
        onShowCell={cell => showListedCell(root.current, cell)}
      />
      <Header {...parts}>
        <ReplayExportButtons
          {...parts}
          replay={replay}
          onDownload={props.onDownload}
          onOpenRecorded={props.onOpenRecorded}
        />
      </Header>
      {state.message && (
        <div
          className={`nbtrack-message nbtrack-message-${state.message.kind}`}
          role={state.message.kind === 'error' ? 'alert' : 'status'}
        >
          <span className="nbtrack-message-mark" aria-hidden="true">
            {MESSAGE_MARKS[state.message.kind]}
          </span>
          <span className="nbtrack-message-text">{state.message.text}</span>
        </div>
      )}
      <ReplayProgress progress={replay.progress} trans={trans} />

      <div className="nbtrack-columns">
        <Section title={trans.__('Parameters')}>
          <KeyValues items={run.params} empty={trans.__('No parameters')} />
        </Section>
        <Tags {...parts} />
      </div>
      <Metrics
        client={client}
        run={run}
        chartPoints={props.chartPoints}
        trans={trans}
      />
      <Notes {...parts} />
      <Datasets run={run} trans={trans} />
      <Models run={run} trans={trans} />
      <Artifacts run={run} trans={trans} artifactUrl={props.artifactUrl} />
      <NotebookRevision run={run} trans={trans} />
      <Cells run={run} trans={trans} onCell={props.onCell} />
      <Environment run={run} trans={trans} />
      <Replays run={run} trans={trans} />
    </div>
  );
}

const MESSAGE_MARKS: Record<MessageKind, string> = {
  success: '✓',
  failure: '✗',
  error: '!',
  info: 'i'
};

/** Scrolls the run view's cell list to `cell`, focuses it and marks it for a moment. */
function showListedCell(root: HTMLElement | null, cell: ICellRecord): void {
  const item = root?.querySelector<HTMLElement>(
    `.nbtrack-cells li[data-seq="${cell.seq}"]`
  );
  if (!item) {
    return;
  }
  item.scrollIntoView({ block: 'center', behavior: 'smooth' });
  item.querySelector<HTMLElement>('.nbtrack-cell-head')?.focus({
    preventScroll: true
  });
  item.classList.add('nbtrack-cell-flash');
  setTimeout(() => item.classList.remove('nbtrack-cell-flash'), 2500);
}
