/**
 * The left sidebar: a Lumino SidePanel (title, refresh button) holding the React run list,
 * which renders the RunListModel.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { ReactWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  refreshIcon,
  SidePanel,
  tableRowsIcon,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Panel } from '@lumino/widgets';
import * as React from 'react';

import { RunList } from './components/RunList';
import { nbtrackIcon } from './icon';
import type { RunListModel } from './model';
import type { IRunSummary } from './tokens';

export interface IRunsSidebarOptions {
  model: RunListModel;
  trans: TranslationBundle;
  translator: ITranslator;
  /** Opens a run (a click on its row). */
  onOpen: (run: IRunSummary) => void;
  /** Compares the selected runs (the Compare button). */
  onCompare: (ids: string[]) => void;
  /** Opens the main-area Runs view (the table button). */
  onOpenTable?: () => void;
}

export class RunsSidebar extends SidePanel {
  constructor(options: IRunsSidebarOptions) {
    super({ content: new Panel(), translator: options.translator });
    const { model, trans } = options;
    this._model = model;
    this.id = 'nbtrack-sidebar';
    this.addClass('nbtrack-sidebar');
    this.title.icon = nbtrackIcon;
    this.title.caption = trans.__('nbtrack runs');

    const title = ReactWidget.create(
      <h2 className="nbtrack-title">{trans.__('Runs')}</h2>
    );
    title.id = 'nbtrack-sidebar-title';
    this.header.addWidget(title);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        onClick: () => void model.refresh(),
        tooltip: trans.__('Refresh runs')
      })
    );
    if (options.onOpenTable) {
      const onOpenTable = options.onOpenTable;
      this.toolbar.addItem(
        'runs-table',
        new ToolbarButton({
          icon: tableRowsIcon,
          onClick: () => onOpenTable(),
          tooltip: trans.__('Open the runs table'),
          className: 'nbtrack-open-table'
        })
      );
    }
    const list = ReactWidget.create(
      <RunList
        model={model}
        trans={trans}
        onOpen={options.onOpen}
        onCompare={options.onCompare}
      />
    );
    list.addClass('nbtrack-list');
    this.addWidget(list);
  }

  /** Refreshes the list in a moment (once for a burst of calls) if the panel is shown then. */
  refreshSoon(): void {
    if (this._pending !== null) {
      clearTimeout(this._pending);
    }
    this._pending = setTimeout(() => {
      this._pending = null;
      if (this.isVisible) {
        void this._model.refresh();
      }
    }, 400);
  }

  /** Puts the keyboard focus in the filter box. */
  focusFilter(): void {
    this.node.querySelector<HTMLInputElement>('.nbtrack-filter-input')?.focus();
  }

  private _model: RunListModel;
  private _pending: ReturnType<typeof setTimeout> | null = null;
}

/**
 * Refreshes the sidebar when it is shown, when the current notebook (and so maybe the store)
 * changes, after a cell ran and when the layout changes.
 */
export function refreshOnActivity(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  sidebar: RunsSidebar
): void {
  const soon = (): void => sidebar.refreshSoon();
  sidebar.title.changed.connect(soon);
  void app.restored.then(soon);
  tracker?.currentChanged.connect(soon);
  NotebookActions.executed.connect(soon);
  const shell = app.shell as unknown as {
    layoutModified?: { connect: (f: () => void) => void };
  };
  shell.layoutModified?.connect(soon);
}
