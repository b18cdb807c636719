/** The main-area view of one run: what it did, on what, and what came out. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../api';
import {
  firstLine,
  formatMetric,
  formatTime,
  parseTag,
  runDuration
} from '../model';
import type {
  ExportFormat,
  ICellRecord,
  IRunDetail,
  ReplayEvent
} from '../tokens';
import { MetricChart } from './MetricChart';
import { StatusBadge } from './RunList';

export interface IRunViewProps {
  client: NbtrackClient;
  runId: string;
  trans: TranslationBundle;
  chartPoints: number;
  /** Scrolls the open notebook to a cell; false when the cell is not there any more. */
  onCell: (cell: ICellRecord, run: IRunDetail) => boolean;
  onDownload: (blob: Blob, filename: string) => void;
  artifactUrl: (runId: string, path: string) => string;
  onChanged: () => void;
}

function Section(props: {
  title: string;
  children: React.ReactNode;
  className?: string;
}): JSX.Element {
  return (
    <section className={`nbtrack-section ${props.className ?? ''}`}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

function KeyValues(props: {
  items: Record<string, unknown>;
  empty: string;
}): JSX.Element {
  const keys = Object.keys(props.items);
  if (!keys.length) {
    return <p className="nbtrack-muted">{props.empty}</p>;
  }
  return (
    <table className="nbtrack-kv">
      <tbody>
        {keys.sort().map(k => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              {typeof props.items[k] === 'object'
                ? JSON.stringify(props.items[k])
                : String(props.items[k])}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunView(props: IRunViewProps): JSX.Element {
  const { client, runId, trans } = props;
  const [run, setRun] = React.useState<IRunDetail | null>(null);
  const [error, setError] = React.useState('');
  const [message, setMessage] = React.useState('');
  const [name, setName] = React.useState('');
  const [notes, setNotes] = React.useState('');
  const [tagDraft, setTagDraft] = React.useState('');
  const [replay, setReplay] = React.useState<ReplayEvent | null>(null);
  const [replayNotes, setReplayNotes] = React.useState<string[]>([]);
  const [busy, setBusy] = React.useState(false);
  const [cellNote, setCellNote] = React.useState('');

  const load = React.useCallback(async () => {
    try {
      const r = await client.getRun(runId);
      setRun(r);
      setName(r.name);
      setNotes(r.notes ?? '');
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [client, runId]);
  React.useEffect(() => {
    void load();
  }, [load]);
  React.useEffect(() => {
    if (run?.status !== 'running') {
      return;
    }
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [run?.status, load]);

  const act = async (
    what: () => Promise<unknown>,
    done: string
  ): Promise<void> => {
    setBusy(true);
    try {
      await what();
      setMessage(done);
      await load();
      props.onChanged();
    } catch (e) {
      setMessage((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (error) {
    return (
      <div className="nbtrack-runview">
        <div className="nbtrack-error" role="alert">
          {error}
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

  const metricKeys = Object.keys(run.metric_summary).sort(
    (a, b) =>
      Number(a.startsWith('system/')) - Number(b.startsWith('system/')) ||
      a.localeCompare(b)
  );
  const doReplay = async (): Promise<void> => {
    setBusy(true);
    setReplay({ event: 'progress', done: 0, total: null });
    setReplayNotes([]);
    try {
      await client.replay(run.id, event => {
        if (event.event === 'note') {
          setReplayNotes(notes => notes.concat(event.text));
        } else {
          setReplay(event);
        }
      });
      await load();
    } catch (e) {
      setReplay({ event: 'error', message: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const doExport = async (format: ExportFormat): Promise<void> => {
    try {
      const { blob, filename } = await client.exportRun(run.id, format);
      props.onDownload(blob, filename);
      setMessage(trans.__('Exported %1', filename));
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  const addTag = (event: React.FormEvent): void => {
    event.preventDefault();
    const tag = parseTag(tagDraft);
    if ('error' in tag) {
      setMessage(trans.__(tag.error));
      return;
    }
    void act(
      () => client.setTags(run.id, { [tag.key]: tag.value }),
      trans.__('Tag saved')
    );
    setTagDraft('');
  };

  return (
    <div className="nbtrack-runview" data-run-id={run.id}>
      <header className="nbtrack-runview-header">
        <StatusBadge status={run.status} trans={trans} />
        <form
          className="nbtrack-rename"
          onSubmit={e => {
            e.preventDefault();
            void act(() => client.rename(run.id, name), trans.__('Renamed'));
          }}
        >
          <input
            className="jp-mod-styled nbtrack-name-input"
            value={name}
            aria-label={trans.__('Run name')}
            onChange={e => setName(e.target.value)}
          />
          {name !== run.name && (
            <button
              className="jp-mod-styled jp-mod-accept"
              type="submit"
              disabled={busy}
            >
              {trans.__('Rename')}
            </button>
          )}
        </form>
        <span className="nbtrack-runview-facts">
          {run.experiment} · {formatTime(run.start_time)} ·{' '}
          {runDuration(run, Date.now() / 1000)} ·{' '}
          <code>{run.id.slice(0, 12)}</code>
        </span>
        <span className="nbtrack-actions">
          <button
            className="jp-mod-styled nbtrack-replay"
            onClick={() => void doReplay()}
            disabled={busy}
          >
            {trans.__('Replay')}
          </button>
          {(['script', 'notebook', 'bundle'] as ExportFormat[]).map(f => (
            <button
              key={f}
              className={`jp-mod-styled nbtrack-export nbtrack-export-${f}`}
              onClick={() => void doExport(f)}
            >
              {f === 'script'
                ? trans.__('Export script')
                : f === 'notebook'
                  ? trans.__('Export notebook')
                  : trans.__('Export bundle')}
            </button>
          ))}
          {run.deleted_at === null ? (
            <button
              className="jp-mod-styled jp-mod-warn nbtrack-delete"
              onClick={() =>
                void act(
                  () => client.deleteRun(run.id),
                  trans.__('Deleted; it can be restored')
                )
              }
            >
              {trans.__('Delete')}
            </button>
          ) : (
            <button
              className="jp-mod-styled nbtrack-restore"
              onClick={() =>
                void act(() => client.restoreRun(run.id), trans.__('Restored'))
              }
            >
              {trans.__('Restore')}
            </button>
          )}
        </span>
      </header>
      {message && (
        <div className="nbtrack-message" role="status">
          {message}
        </div>
      )}
      {replay && <ReplayStatus event={replay} trans={trans} />}
      {replayNotes.length > 0 && (
        <pre className="nbtrack-replay-notes">{replayNotes.join('\n')}</pre>
      )}

      <div className="nbtrack-columns">
        <Section title={trans.__('Parameters')}>
          <KeyValues items={run.params} empty={trans.__('No parameters')} />
        </Section>
        <Section title={trans.__('Tags')}>
          <ul className="nbtrack-tags">
            {Object.keys(run.tags)
              .sort()
              .map(k => (
                <li key={k} className="nbtrack-tag">
                  <span>
                    {k}={run.tags[k]}
                  </span>
                  <button
                    className="nbtrack-tag-remove"
                    aria-label={trans.__('Remove tag %1', k)}
                    title={trans.__('Remove tag %1', k)}
                    onClick={() =>
                      void act(
                        () => client.deleteTag(run.id, k),
                        trans.__('Tag removed')
                      )
                    }
                  >
                    ×
                  </button>
                </li>
              ))}
          </ul>
          <form onSubmit={addTag} className="nbtrack-tag-form">
            <input
              className="jp-mod-styled"
              value={tagDraft}
              placeholder="key=value"
              aria-label={trans.__('New tag')}
              onChange={e => setTagDraft(e.target.value)}
            />
            <button className="jp-mod-styled" type="submit">
              {trans.__('Add tag')}
            </button>
          </form>
        </Section>
      </div>

      <Section title={trans.__('Metrics')}>
        {metricKeys.length ? (
          <div className="nbtrack-metrics">
            {metricKeys.map(k => (
              <div className="nbtrack-metric-card" key={k}>
                <div className="nbtrack-metric-title">
                  <span className="nbtrack-metric-key">{k}</span>
                  <span>{formatMetric(run.metric_summary[k].latest)}</span>
                </div>
                <MetricChart
                  client={client}
                  runId={run.id}
                  metric={k}
                  maxPoints={props.chartPoints}
                  trans={trans}
                />
              </div>
            ))}
          </div>
        ) : (
          <p className="nbtrack-muted">{trans.__('No metrics logged')}</p>
        )}
      </Section>

      <Section title={trans.__('Notes')}>
        <textarea
          className="jp-mod-styled nbtrack-notes"
          value={notes}
          rows={4}
          aria-label={trans.__('Notes')}
          onChange={e => setNotes(e.target.value)}
        />
        {notes !== (run.notes ?? '') && (
          <button
            className="jp-mod-styled jp-mod-accept nbtrack-notes-save"
            onClick={() =>
              void act(
                () => client.setNotes(run.id, notes),
                trans.__('Notes saved')
              )
            }
          >
            {trans.__('Save notes')}
          </button>
        )}
      </Section>

      {run.artifacts.length > 0 && (
        <Section title={trans.__('Artifacts')}>
          <ul className="nbtrack-artifacts">
            {run.artifacts.map(a => (
              <li key={a.path}>
                <a href={props.artifactUrl(run.id, a.path)} download>
                  {a.path}
                </a>{' '}
                <span className="nbtrack-muted">{a.size} B</span>
              </li>
            ))}
          </ul>
        </Section>
      )}

      <Section title={trans.__('Notebook revision')}>
        <KeyValues
          items={Object.fromEntries(
            Object.entries(run.notebook).filter(([, v]) => v !== null)
          )}
          empty={trans.__('Not recorded')}
        />
      </Section>

      <Section
        title={trans.__('Executed cells (%1)', run.cells.length)}
        className="nbtrack-cells-section"
      >
        {cellNote && <div className="nbtrack-message">{cellNote}</div>}
        <ol className="nbtrack-cells">
          {run.cells.map(cell => (
            <li
              key={cell.seq}
              className={`nbtrack-cell ${cell.in_run ? 'nbtrack-cell-in-run' : ''} ${cell.status === 'error' ? 'nbtrack-cell-error' : ''}`}
            >
              <button
                className="nbtrack-cell-head"
                data-cell-id={cell.cell_id ?? ''}
                title={trans.__('Show this cell in the notebook')}
                onClick={() =>
                  setCellNote(
                    props.onCell(cell, run)
                      ? ''
                      : trans.__(
                          'Cell %1 is not in the open notebook any more.',
                          firstLine(cell.source, 40)
                        )
                  )
                }
              >
                <span className="nbtrack-cell-count">
                  [{cell.execution_count ?? ' '}]
                </span>
                {cell.in_run && (
                  <span className="nbtrack-cell-flag">{trans.__('run')}</span>
                )}
                {cell.error && (
                  <span className="nbtrack-cell-flag nbtrack-cell-flag-error">
                    {cell.error.type}: {cell.error.message}
                  </span>
                )}
              </button>
              <pre className="nbtrack-code">{cell.source}</pre>
            </li>
          ))}
        </ol>
      </Section>

      <Section title={trans.__('Environment')}>
        {run.environment ? (
          <details>
            <summary>{trans.__('Show environment')}</summary>
            <pre className="nbtrack-code">
              {JSON.stringify(run.environment, null, 2)}
            </pre>
          </details>
        ) : (
          <p className="nbtrack-muted">{trans.__('Not recorded')}</p>
        )}
      </Section>

      {run.replays.length > 0 && (
        <Section title={trans.__('Replays')}>
          <ul>
            {run.replays.map(r => (
              <li key={r.id}>
                <code>{r.id.slice(0, 12)}</code> {formatTime(r.start_time)} ·{' '}
                {r.reproduced === null
                  ? r.status
                  : r.reproduced
                    ? trans.__('reproduced')
                    : trans.__('diverged')}
              </li>
            ))}
          </ul>
        </Section>
      )}
    </div>
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
