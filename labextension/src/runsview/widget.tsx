/**
 * The Runs view as a main-area tab: one at a time, opened by the `nbtrack: Open runs table`
 * command and the sidebar's table button. Compare and opening a run go through the commands
 * the sidebar uses; delete and restore ask first.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  MainAreaWidget,
  ReactWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { tableRowsIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { Requester } from '../api';
import { CommandIDs } from '../tokens';
import { RunsTableClient } from './client';
import { RunsTableModel } from './model';
import { RunsView } from './RunsView';

export const RUNS_VIEW_ID = 'nbtrack-runs-view';

export interface IRunsViewOptions {
  app: JupyterFrontEnd;
  request: Requester;
  notebook: () => string | null;
  trans: TranslationBundle;
}

/** Shows the Runs view, opening it unless it is open already. */
export function openRunsView(options: IRunsViewOptions): void {
  const { app, trans } = options;
  const open = Array.from(app.shell.widgets('main')).find(
    w => w.id === RUNS_VIEW_ID
  );
  if (open) {
    app.shell.activateById(RUNS_VIEW_ID);
    return;
  }
  const model = new RunsTableModel(
    new RunsTableClient(options.request, options.notebook),
    window.localStorage
  );
  const bulk = async (action: 'delete' | 'restore'): Promise<void> => {
    const n = model.selected.size;
    const result = await showDialog({
      title:
        action === 'delete'
          ? trans._n('Delete %1 run?', 'Delete %1 runs?', n)
          : trans._n('Restore %1 run?', 'Restore %1 runs?', n),
      body:
        action === 'delete'
          ? trans._n(
              'The run is hidden from listings and searches; it can be restored from Deleted until nbtrack gc removes it.',
              'The %1 runs are hidden from listings and searches; they can be restored from Deleted until nbtrack gc removes them.',
              n
            )
          : trans._n(
              'The run is listed again.',
              'The %1 runs are listed again.',
              n
            ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        action === 'delete'
          ? Dialog.warnButton({ label: trans.__('Delete') })
          : Dialog.okButton({ label: trans.__('Restore') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await model.bulk(action);
    } catch (err) {
      await showErrorMessage(trans.__('nbtrack'), err as Error);
    }
  };
  const csv = async (): Promise<void> => {
    try {
      const text = await model.csv();
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = 'nbtrack-runs.csv';
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      await showErrorMessage(trans.__('nbtrack'), err as Error);
    }
  };
  const content = ReactWidget.create(
    <RunsView
      model={model}
      trans={trans}
      onOpen={run =>
        void app.commands.execute(CommandIDs.openRun, {
          id: run.id,
          name: run.name
        })
      }
      onCompare={ids =>
        void app.commands.execute(CommandIDs.compareRuns, { ids })
      }
      onBulk={action => void bulk(action)}
      onCsv={() => void csv()}
    />
  );
  content.addClass('nbtrack-rv-content');
  const widget = new MainAreaWidget({ content });
  widget.id = RUNS_VIEW_ID;
  widget.title.label = trans.__('Runs');
  widget.title.caption = trans.__('nbtrack: runs table');
  widget.title.icon = tableRowsIcon;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(RUNS_VIEW_ID);
  void model.start();
}
