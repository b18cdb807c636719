/**
 * The run view's header: status, the name (renamed in place), experiment, start, duration and
 * id, and the actions: those given as children (replay, export), then delete or restore.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
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
            disabled={state.busy}
            title={trans.__(
              'Delete this run and the runs nested under it (asks first; they can be restored)'
            )}
            onClick={() => void confirmDelete(client, run, state, trans)}
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

/**
 * Asks before deleting the run, saying how many runs go (the run and the runs nested under it:
 * a replay's re-run cells, a sweep's runs), then deletes them.
 */
async function confirmDelete(
  client: NbtrackClient,
  run: IRunDetail,
  state: IRunState,
  trans: TranslationBundle
): Promise<void> {
  let ids: string[];
  try {
    ids = await client.runsDeletedWith(run.id);
  } catch (e) {
    state.say((e as Error).message, 'error');
    return;
  }
  const nested = ids.length - 1;
  const body =
    nested > 0
      ? trans._n(
          'This deletes “%2” and the %1 run nested under it (%3 runs in all).',
          'This deletes “%2” and the %1 runs nested under it (%3 runs in all).',
          nested,
          run.name,
          ids.length
        )
      : trans.__('This deletes the run “%1”.', run.name);
  const result = await showDialog({
    title: trans._n('Delete %1 run?', 'Delete %1 runs?', ids.length),
    body: `${body} ${trans._n(
      'It can be restored (Restore, or nbtrack restore).',
      'They can be restored (Restore, or nbtrack restore).',
      ids.length
    )}`,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({
        label: trans._n('Delete %1 run', 'Delete %1 runs', ids.length)
      })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  await state.act(
    () => client.deleteRun(run.id),
    trans._n(
      'Deleted %1 run; it can be restored',
      'Deleted %1 runs; they can be restored',
      ids.length
    )
  );
}
