/**
 * nbtrack for JupyterLab: a left sidebar of runs and a main-area view of one run, backed by
 * the nbtrack server extension (`/nbtrack/api/`).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  ReactWidget
} from '@jupyterlab/apputils';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import {
  LabIcon,
  refreshIcon,
  SidePanel,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Panel } from '@lumino/widgets';
import * as React from 'react';

import { NbtrackClient } from './api';
import { canCompare } from './compare';
import { CompareView } from './components/CompareView';
import { RunList } from './components/RunList';
import { RunView } from './components/RunView';
import { apiUrl, makeRequester } from './request';
import { DEFAULT_SETTINGS, ISidebarSettings, RunListModel } from './sidebar';
import { CommandIDs, ICellRecord, IRunDetail, PLUGIN_ID } from './tokens';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M3 3h2v16h16v2H3zm4 12l4-5 3 3 5-7 1.6 1.2-6.4 9-3-3-2.8 3.6z"/></svg>';

export const nbtrackIcon = new LabIcon({
  name: 'nbtrack:icon',
  svgstr: ICON_SVG
});

/** Where a recorded notebook path and an open notebook are the same file. */
function samePath(recorded: string | null, open: string): boolean {
  if (!recorded) {
    return false;
  }
  const r = recorded.replace(/\\/g, '/');
  return r === open || r.endsWith(`/${open}`);
}

function scrollToCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  cell: ICellRecord,
  run: IRunDetail
): boolean {
  if (!tracker || !cell.cell_id) {
    return false;
  }
  const panels: NotebookPanel[] = [];
  tracker.forEach(p => panels.push(p));
  panels.sort(
    (a, b) =>
      Number(samePath(run.notebook.path, b.context.path)) -
      Number(samePath(run.notebook.path, a.context.path))
  );
  for (const panel of panels) {
    const index = panel.content.widgets.findIndex(
      c => c.model.id === cell.cell_id
    );
    if (index >= 0) {
      app.shell.activateById(panel.id);
      panel.content.activeCellIndex = index;
      void panel.content.scrollToItem(index, 'center');
      return true;
    }
  }
  return false;
}

function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'nbtrack run history beside the notebook.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ISettingRegistry,
    INotebookTracker,
    ITranslator,
    ILayoutRestorer
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    tracker: INotebookTracker | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans: TranslationBundle = (translator ?? nullTranslator).load(
      'nbtrack'
    );
    const client = new NbtrackClient(
      makeRequester(),
      () => tracker?.currentWidget?.context.path ?? null
    );
    const model = new RunListModel(client);
    let settings: ISidebarSettings = { ...DEFAULT_SETTINGS };
    let chartPoints = 300;

    // a run or compare view as a closable main-area tab
    const showInMain = (
      element: React.ReactElement,
      id: string,
      label: string,
      caption: string
    ): void => {
      const content = ReactWidget.create(element);
      content.addClass('nbtrack-runview-widget');
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.title.label = label;
      widget.title.caption = caption;
      widget.title.icon = nbtrackIcon;
      widget.title.closable = true;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };

    const openRun = (id: string, name: string): void => {
      const widgetId = `nbtrack-run-${id}`;
      const existing = Array.from(app.shell.widgets('main')).find(
        w => w.id === widgetId
      );
      if (existing) {
        app.shell.activateById(widgetId);
        return;
      }
      showInMain(
        React.createElement(RunView, {
          client,
          runId: id,
          trans,
          chartPoints,
          onCell: (cell, run) => scrollToCell(app, tracker, cell, run),
          onDownload: download,
          artifactUrl: (runId, path) =>
            apiUrl(client.artifactPath(runId, path)),
          onChanged: () => void model.refresh()
        }),
        widgetId,
        trans.__('Run %1', name),
        trans.__('nbtrack run %1', id)
      );
    };

    let compareCount = 0;
    const openCompare = (ids: string[]): void => {
      const unique = Array.from(new Set(ids));
      if (!canCompare(unique)) {
        return;
      }
      const names = unique.map(
        id => model.runs.find(r => r.id === id)?.name ?? id.slice(0, 8)
      );
      showInMain(
        React.createElement(CompareView, {
          client,
          runIds: unique,
          trans,
          onOpenRun: openRun
        }),
        `nbtrack-compare-${++compareCount}`,
        trans._n('Compare %1 run', 'Compare %1 runs', unique.length),
        trans.__('nbtrack: compare %1', names.join(', '))
      );
    };

    const list = ReactWidget.create(
      React.createElement(RunList, {
        model,
        trans,
        onOpen: run => openRun(run.id, run.name),
        onCompare: ids =>
          void app.commands.execute(CommandIDs.compareRuns, { ids })
      })
    );
    const panel = new SidePanel({
      content: new Panel(),
      translator: translator ?? nullTranslator
    });
    panel.id = 'nbtrack-sidebar';
    panel.addClass('nbtrack-sidebar');
    panel.title.icon = nbtrackIcon;
    panel.title.caption = trans.__('nbtrack runs');
    panel.header.addWidget(
      Object.assign(
        ReactWidget.create(
          React.createElement(
            'h2',
            { className: 'nbtrack-title' },
            trans.__('Runs')
          )
        ),
        {
          id: 'nbtrack-sidebar-title'
        }
      )
    );
    panel.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        onClick: () => void model.refresh(),
        tooltip: trans.__('Refresh runs')
      })
    );
    list.addClass('nbtrack-list');
    panel.addWidget(list);
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'nbtrack-sidebar');

    model.start(() => panel.isVisible);
    // Refresh when the panel is shown, the notebook (and so maybe the store) changes, or a cell ran.
    let pending: ReturnType<typeof setTimeout> | null = null;
    const soon = (): void => {
      if (pending !== null) {
        clearTimeout(pending);
      }
      pending = setTimeout(() => {
        pending = null;
        if (panel.isVisible) {
          void model.refresh();
        }
      }, 400);
    };
    panel.title.changed.connect(soon);
    app.restored.then(() => soon());
    tracker?.currentChanged.connect(soon);
    NotebookActions.executed.connect(soon);
    const shell = app.shell as unknown as {
      layoutModified?: { connect: (f: () => void) => void };
    };
    shell.layoutModified?.connect(soon);

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: trans.__('Show nbtrack Runs'),
      caption: trans.__('Open the nbtrack run history sidebar'),
      execute: () => {
        app.shell.activateById(panel.id);
        void model.refresh();
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh nbtrack Runs'),
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIDs.focusFilter, {
      label: trans.__('Filter nbtrack Runs'),
      execute: () => {
        app.shell.activateById(panel.id);
        panel.node
          .querySelector<HTMLInputElement>('.nbtrack-filter-input')
          ?.focus();
      }
    });
    app.commands.addCommand(CommandIDs.openRun, {
      label: args =>
        args.id
          ? trans.__('Open nbtrack Run %1', String(args.id))
          : trans.__('Open nbtrack Run'),
      execute: args => {
        const id = String(args.id ?? '');
        if (id) {
          openRun(id, String(args.name ?? id.slice(0, 8)));
        }
      }
    });
    const idsOf = (args: { ids?: unknown }): string[] =>
      Array.isArray(args.ids) ? args.ids.map(String) : model.selected;
    app.commands.addCommand(CommandIDs.compareRuns, {
      label: args => {
        const n = idsOf(args).length;
        return n >= 2
          ? trans.__('Compare %1 Selected nbtrack Runs', n)
          : trans.__('Compare Selected nbtrack Runs');
      },
      caption: trans.__('Select two or more runs in the nbtrack sidebar first'),
      isEnabled: args => canCompare(idsOf(args)),
      execute: args => openCompare(idsOf(args))
    });
    app.commands.addCommand(CommandIDs.clearSelection, {
      label: trans.__('Clear nbtrack Run Selection'),
      isEnabled: () => model.selected.length > 0,
      execute: () => model.clearSelection()
    });
    model.changed.connect(() => {
      app.commands.notifyCommandChanged(CommandIDs.compareRuns);
      app.commands.notifyCommandChanged(CommandIDs.clearSelection);
    });
    const category = trans.__('nbtrack');
    for (const command of [
      CommandIDs.openSidebar,
      CommandIDs.refresh,
      CommandIDs.focusFilter,
      CommandIDs.compareRuns,
      CommandIDs.clearSelection
    ]) {
      palette?.addItem({ command, category });
    }

    if (settingRegistry) {
      const apply = (s: ISettingRegistry.ISettings): void => {
        settings = {
          ...DEFAULT_SETTINGS,
          ...(s.composite as Partial<ISidebarSettings>)
        };
        chartPoints = (s.composite.chartPoints as number) ?? 300;
        model.settings = settings;
        soon();
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(s => {
          apply(s);
          s.changed.connect(apply);
        })
        .catch(reason =>
          console.error('nbtrack: cannot load settings', reason)
        );
    }
  }
};

export default plugin;
