/**
 * The run view's header: status, the name (renamed in place), experiment, start, duration and
 * id, and the actions: those given as children (replay, export), then delete or restore.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import { formatTime, runDuration } from '../../format';
import type { IRunDetail } from '../../tokens';
import { StatusBadge } from '../RunList';
import { IRunState, useDraft } from './useRun';

export function Header(props: {
  client: NbtrackClient;
  run: IRunDetail;
  state: IRunState;
  trans: TranslationBundle;
  children: React.ReactNode;
}): JSX.Element {
  const { client, run, state, trans } = props;
  const [name, setName] = useDraft(run.name, run);
  return (
    <header className="nbtrack-runview-header">
      <StatusBadge status={run.status} trans={trans} />
      <form
        className="nbtrack-rename"
        onSubmit={e => {
          e.preventDefault();
          void state.act(
            () => client.rename(run.id, name),
            trans.__('Renamed')
          );
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
            disabled={state.busy}
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
        {props.children}
        {run.deleted_at === null ? (
          <button
            className="jp-mod-styled jp-mod-warn nbtrack-delete"
            onClick={() =>
              void state.act(
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
              void state.act(
                () => client.restoreRun(run.id),
                trans.__('Restored')
              )
            }
          >
            {trans.__('Restore')}
          </button>
        )}
      </span>
    </header>
  );
}
