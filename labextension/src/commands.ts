/** The nbtrack commands and their place in the command palette. */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import { canCompare } from './compare';
import type { RunListModel } from './model';
import type { RunsSidebar } from './sidebar';
import { CommandIDs } from './tokens';
import type { MainAreaViews } from './views';

export interface ICommandsOptions {
  model: RunListModel;
  sidebar: RunsSidebar;
  views: MainAreaViews;
  trans: TranslationBundle;
  palette: ICommandPalette | null;
  /** Opens the main-area Runs view (runsview/widget.tsx). */
  openTable?: () => void;
}

export function addCommands(
  app: JupyterFrontEnd,
  options: ICommandsOptions
): void {
  const { model, sidebar, views, trans, palette, openTable } = options;
  const { commands } = app;
  commands.addCommand(CommandIDs.openSidebar, {
    label: trans.__('Show nbtrack Runs'),
    caption: trans.__('Open the nbtrack run history sidebar'),
    execute: () => {
      app.shell.activateById(sidebar.id);
      void model.refresh();
    }
  });
  commands.addCommand(CommandIDs.openRunsTable, {
    label: trans.__('nbtrack: Open runs table'),
    caption: trans.__(
      'The runs in a sortable, filterable table with chosen columns'
    ),
    execute: () => openTable?.()
  });
  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh nbtrack Runs'),
    execute: () => model.refresh()
  });
  commands.addCommand(CommandIDs.focusFilter, {
    label: trans.__('Filter nbtrack Runs'),
    execute: () => {
      app.shell.activateById(sidebar.id);
      sidebar.focusFilter();
    }
  });
  commands.addCommand(CommandIDs.openRun, {
    label: args =>
      args.id
        ? trans.__('Open nbtrack Run %1', String(args.id))
        : trans.__('Open nbtrack Run'),
    execute: args => {
      const id = String(args.id ?? '');
      if (id && args.restore) {
        return views.restoreRun(id); // after a page reload: only a run still there
      }
      if (id) {
        views.openRun(id, String(args.name ?? id.slice(0, 8)));
      }
    }
  });
  // the runs given as `ids`, else the runs selected in the sidebar
  const idsOf = (args: { ids?: unknown }): string[] =>
    Array.isArray(args.ids) ? args.ids.map(String) : model.selected;
  commands.addCommand(CommandIDs.compareRuns, {
    label: args => {
      const n = idsOf(args).length;
      return n >= 2
        ? trans.__('Compare %1 Selected nbtrack Runs', n)
        : trans.__('Compare Selected nbtrack Runs');
    },
    caption: trans.__('Select two or more runs in the nbtrack sidebar first'),
    isEnabled: args => canCompare(idsOf(args)),
    execute: args =>
      args.restore
        ? views.restoreCompare(idsOf(args)) // after a page reload
        : views.openCompare(idsOf(args))
  });
  commands.addCommand(CommandIDs.clearSelection, {
    label: trans.__('Clear nbtrack Run Selection'),
    isEnabled: () => model.selected.length > 0,
    execute: () => model.clearSelection()
  });
  model.changed.connect(() => {
    commands.notifyCommandChanged(CommandIDs.compareRuns);
    commands.notifyCommandChanged(CommandIDs.clearSelection);
  });

  const category = trans.__('nbtrack');
  for (const command of [
    CommandIDs.openSidebar,
    CommandIDs.openRunsTable,
    CommandIDs.refresh,
    CommandIDs.focusFilter,
    CommandIDs.compareRuns,
    CommandIDs.clearSelection
  ]) {
    palette?.addItem({ command, category });
  }
}
