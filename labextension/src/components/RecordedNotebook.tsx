/**
 * The notebook as it was when a run was recorded, read-only: a header naming the run and when it
 * was recorded, then every cell of that revision, the cells the run executed marked with a bar
 * and their execution count and time. Nothing in it can be edited or saved.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../api';
import type { ICellRenderer } from '../cellrender';
import { outputBundle } from '../cellrender';
import { formatTime } from '../format';
import {
  IRecordedCell,
  IRecordedHeader,
  notebookLanguage,
  recordedCells,
  recordedHeader
} from '../reproduce';
import type { INotebookOutput, IRecordedNotebook } from '../tokens';

export function RecordedNotebook(props: {
  client: NbtrackClient;
  runId: string;
  runName: string;
  renderer: ICellRenderer;
  trans: TranslationBundle;
}): JSX.Element {
  const { client, runId, trans } = props;
  const [nb, setNb] = React.useState<IRecordedNotebook | null>(null);
  const [error, setError] = React.useState('');
  React.useEffect(() => {
    let live = true;
    client.recordedNotebook(runId).then(
      loaded => live && setNb(loaded),
      (e: Error) => live && setError(e.message)
    );
    return () => {
      live = false;
    };
  }, [client, runId]);

  if (error) {
    return (
      <div className="nbtrack-recorded">
        <div className="nbtrack-error" role="alert">
          {error}
        </div>
      </div>
    );
  }
  if (!nb) {
    return (
      <div className="nbtrack-recorded nbtrack-loading">
        {trans.__('Loading…')}
      </div>
    );
  }
  const header = recordedHeader(nb, { id: runId, name: props.runName });
  const language = notebookLanguage(nb);
  return (
    <div className="nbtrack-recorded" data-run-id={header.runId}>
      <RecordedHeader header={header} trans={trans} />
      <div className="nbtrack-rec-cells">
        {recordedCells(nb).map(cell => (
          <RecordedCell
            key={cell.key}
            cell={cell}
            language={language}
            renderer={props.renderer}
            trans={trans}
          />
        ))}
      </div>
    </div>
  );
}

function RecordedHeader(props: {
  header: IRecordedHeader;
  trans: TranslationBundle;
}): JSX.Element {
  const { header, trans } = props;
  return (
    <header className="nbtrack-rec-header">
      <div className="nbtrack-rec-title">
        <span className="nbtrack-rec-readonly">{trans.__('Read-only')}</span>
        <h1>
          {trans.__('Notebook as recorded by run')}{' '}
          <span className="nbtrack-rec-run">{header.runName}</span>
        </h1>
      </div>
      <div className="nbtrack-rec-facts">
        {header.recordedAt && (
          <span>{trans.__('Recorded %1', isoTime(header.recordedAt))}</span>
        )}
        {header.source && (
          <span>
            {header.source === 'snapshot'
              ? trans.__('the notebook file saved with the run')
              : header.source === 'cells'
                ? trans.__('rebuilt from the recorded cells (no saved file)')
                : header.source}
          </span>
        )}
        {header.revision && <span>{header.revision}</span>}
        <code>{header.runId.slice(0, 12)}</code>
      </div>
      <div className="nbtrack-rec-legend">
        <span className="nbtrack-rec-legend-bar" aria-hidden="true" />
        {trans.__(
          '%1 of %2 cells ran in this run (marked)',
          header.inRun,
          header.total
        )}
      </div>
      {header.unmatched.length > 0 && (
        <div className="nbtrack-rec-unmatched">
          {trans._n(
            '%1 cell the run executed is not in the saved notebook (%2): it was not saved after it ran.',
            '%1 cells the run executed are not in the saved notebook (%2): it was not saved after they ran.',
            header.unmatched.length,
            header.unmatched.map(n => `[${n ?? ' '}]`).join(' ')
          )}
        </div>
      )}
    </header>
  );
}

function RecordedCell(props: {
  cell: IRecordedCell;
  language: string;
  renderer: ICellRenderer;
  trans: TranslationBundle;
}): JSX.Element {
  const { cell, trans } = props;
  const classes = [
    'nbtrack-rec-cell',
    `nbtrack-rec-${cell.kind}`,
    cell.inRun ? 'nbtrack-rec-in-run' : '',
    cell.failed ? 'nbtrack-rec-failed' : ''
  ].join(' ');
  return (
    <div className={classes} data-in-run={cell.inRun ? 'true' : 'false'}>
      <div className="nbtrack-rec-gutter">
        {cell.kind === 'code' && (
          <span className="nbtrack-rec-count">
            [{cell.executionCount ?? ' '}]
          </span>
        )}
        {cell.inRun && (
          <span
            className="nbtrack-rec-flag"
            title={trans.__('Executed in this run')}
          >
            {trans.__('run')}
          </span>
        )}
        {cell.executedAt && (
          <time className="nbtrack-rec-time" dateTime={cell.executedAt}>
            {clockTime(cell.executedAt)}
          </time>
        )}
      </div>
      <div className="nbtrack-rec-body">
        {cell.kind === 'code' ? (
          <>
            <CodeSource
              source={cell.source}
              language={props.language}
              renderer={props.renderer}
            />
            {cell.outputs.map((o, i) => (
              <Output key={i} output={o} renderer={props.renderer} />
            ))}
          </>
        ) : cell.kind === 'markdown' ? (
          <Rendered
            bundle={{ 'text/markdown': cell.source }}
            renderer={props.renderer}
            className="nbtrack-rec-markdown"
          />
        ) : (
          <pre className="nbtrack-rec-source">{cell.source}</pre>
        )}
      </div>
    </div>
  );
}

function CodeSource(props: {
  source: string;
  language: string;
  renderer: ICellRenderer;
}): JSX.Element {
  const { source, language, renderer } = props;
  const ref = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    const host = ref.current;
    if (host) {
      renderer.highlight(source, language, host).catch(() => {
        host.textContent = source;
      });
    }
  }, [source, language, renderer]);
  // filled by the effect: React leaves the highlighted spans alone
  return <pre className="nbtrack-rec-source" ref={ref} />;
}

function Output(props: {
  output: INotebookOutput;
  renderer: ICellRenderer;
}): JSX.Element {
  return (
    <Rendered
      bundle={outputBundle(props.output)}
      renderer={props.renderer}
      className="nbtrack-rec-output"
    />
  );
}

/** A MIME bundle rendered by rendermime into a host React leaves alone. */
function Rendered(props: {
  bundle: Record<string, unknown>;
  renderer: ICellRenderer;
  className: string;
}): JSX.Element {
  const { bundle, renderer } = props;
  const ref = React.useRef<HTMLDivElement>(null);
  const key = JSON.stringify(bundle);
  React.useEffect(() => {
    const host = ref.current;
    if (!host) {
      return;
    }
    let dispose: (() => void) | null = null;
    let live = true;
    void renderer.render(JSON.parse(key), host).then(d => {
      if (live) {
        dispose = d;
      } else {
        d();
      }
    });
    return () => {
      live = false;
      dispose?.();
    };
  }, [key, renderer]);
  return <div className={props.className} ref={ref} />;
}

function isoTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : formatTime(t / 1000);
}

function clockTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleTimeString();
}
