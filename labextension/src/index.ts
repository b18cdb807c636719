/**
 * nbtrack for JupyterLab: a left sidebar of runs and main-area views of a run and of runs
 * compared, backed by the nbtrack server extension (`/nbtrack/api/`). `activate` only wires the
 * pieces together: the sidebar (sidebar.tsx), the main-area views (views.tsx), the commands
 * (commands.ts) and the settings (settings.ts).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { NbtrackClient } from './api';
import { listenForOpenRequests } from './bridge';
import { cellRenderer } from './cellrender';
import { addCommands } from './commands';
import { RunListModel } from './model';
import { tellKernelsOfRenames } from './notebooks';
import { makeRequester } from './request';
import { registerRunSummary } from './runsummary';
import { watchSettings } from './settings';
import { openRunsView } from './runsview/widget';
import { refreshOnActivity, RunsSidebar } from './sidebar';
import { CommandIDs, PLUGIN_ID } from './tokens';
import { MainAreaViews } from './views';

export { nbtrackIcon } from './icon';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'nbtrack run history beside the notebook.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ISettingRegistry,
    INotebookTracker,
    ITranslator,
    ILayoutRestorer,
    IRenderMimeRegistry,
    IEditorLanguageRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    tracker: INotebookTracker | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    rendermime: IRenderMimeRegistry | null,
    languages: IEditorLanguageRegistry | null
  ) => {
    const translations = translator ?? nullTranslator;
    const trans = translations.load('nbtrack');
    // the store of the open notebook is the one listed
    const client = new NbtrackClient(
      makeRequester(),
      () => tracker?.currentWidget?.context.path ?? null
    );
    const model = new RunListModel(client);
    const views = new MainAreaViews({
      app,
      client,
      model,
      tracker,
      renderer: cellRenderer(rendermime, languages),
      trans
    });
    const sidebar = new RunsSidebar({
      model,
      trans,
      translator: translations,
      onOpen: run => views.openRun(run.id, run.name),
      onCompare: ids =>
        void app.commands.execute(CommandIDs.compareRuns, { ids }),
      onOpenTable: () => void app.commands.execute(CommandIDs.openRunsTable)
    });
    listenForOpenRequests(views); // run_view()'s and a run summary's buttons open these views
    if (rendermime) {
      registerRunSummary(rendermime, tracker); // the line %%track prints when its run ends
    }
    if (tracker) {
      tellKernelsOfRenames(tracker);
    }
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, 'nbtrack-sidebar');

    model.start(() => sidebar.isVisible);
    refreshOnActivity(app, tracker, sidebar);
    const openTable = (): void =>
      openRunsView({
        app,
        request: makeRequester(),
        notebook: () => tracker?.currentWidget?.context.path ?? null,
        trans
      });
    addCommands(app, { model, sidebar, views, trans, palette, openTable });
    // run and compare tabs come back after a page reload (a deleted run's are dropped)
    const runIds = (w: { node: HTMLElement }): string =>
      w.node.dataset.runIds ?? '';
    void restorer?.restore(views.runTabs, {
      command: CommandIDs.openRun,
      args: w => ({ id: runIds(w), restore: true }),
      name: runIds
    });
    void restorer?.restore(views.compareTabs, {
      command: CommandIDs.compareRuns,
      args: w => ({ ids: runIds(w).split(','), restore: true }),
      name: runIds
    });
    if (settingRegistry) {
      watchSettings(settingRegistry, settings => {
        model.settings = settings;
        views.chartPoints = settings.chartPoints;
        sidebar.refreshSoon();
      });
    }
  }
};

export default plugin;
