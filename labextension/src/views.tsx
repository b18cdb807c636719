/**
 * The main-area tabs: one run (RunView), runs side by side (CompareView) and the notebook as a
 * run recorded it (RecordedNotebook, read-only).
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  MainAreaWidget,
  ReactWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import * as React from 'react';

import type { NbtrackClient } from './api';
import type { ICellRenderer } from './cellrender';
import { canCompare } from './compare';
import { CompareView } from './components/CompareView';
import { RecordedNotebook } from './components/RecordedNotebook';
import { RunView } from './components/run/RunView';
import { nbtrackIcon } from './icon';
import type { RunListModel } from './model';
import { scrollToCell } from './notebooks';
import { apiUrl } from './request';
import { DEFAULT_SETTINGS } from './settings';

export interface IMainAreaViewsOptions {
  app: JupyterFrontEnd;
  client: NbtrackClient;
  /** The sidebar's model: refreshed after an edit, and naming the compared runs. */
  model: RunListModel;
  tracker: INotebookTracker | null;
  /** Draws the recorded notebook's code, markdown and outputs. */
  renderer: ICellRenderer;
  trans: TranslationBundle;
}

/** Opens run and compare views as closable main-area tabs, a run at most once. */
export class MainAreaViews {
  constructor(private readonly options: IMainAreaViewsOptions) {}

  /** Points asked per metric chart in run views opened from now on. */
  chartPoints = DEFAULT_SETTINGS.chartPoints;

  /** The open run tabs (each node's `data-run-ids`: its run), restored after a reload. */
  readonly runTabs = new WidgetTracker<MainAreaWidget>({
    namespace: 'nbtrack-run'
  });
  /** The open compare tabs (`data-run-ids`: the compared runs, comma-separated). */
  readonly compareTabs = new WidgetTracker<MainAreaWidget>({
    namespace: 'nbtrack-compare'
  });

  /**
   * Reopens a run tab after a page reload; rejects (so the layout restorer forgets the tab)
   * when the run is gone or deleted.
   */
  async restoreRun(id: string): Promise<void> {
    const run = await this.options.client.getRun(id);
    if (run.deleted_at !== null) {
      throw new Error(`run ${id} is deleted`);
    }
    this.openRun(run.id, run.name);
  }

  /** Reopens a compare tab after a reload, without the runs deleted since (two are needed). */
  async restoreCompare(ids: string[]): Promise<void> {
    const { client } = this.options;
    const runs = await Promise.all(
      ids.map(id => client.getRun(id).catch(() => null))
    );
    const live = runs.filter(r => r !== null && r.deleted_at === null);
    if (!canCompare(live.map(r => r!.id))) {
      throw new Error('fewer than two of the compared runs are left');
    }
    this.openCompare(
      live.map(r => r!.id),
      live.map(r => r!.name)
    );
  }

  /** Shows the run's tab, opening it unless it is open already. */
  openRun(id: string, name: string): void {
    const { app, client, model, tracker, trans } = this.options;
    const widgetId = `nbtrack-run-${id}`;
    if (this.activate(widgetId)) {
      this._reopened.emit(id); // shown again: as the run is now (edited elsewhere, say)
      return;
    }
    this.show(
      <RunView
        reopened={this._reopened}
        client={client}
        runId={id}
        trans={trans}
        chartPoints={this.chartPoints}
        onCell={(cell, run) => scrollToCell(app, tracker, cell, run)}
        onDownload={download}
        artifactUrl={(runId, path) => apiUrl(client.artifactPath(runId, path))}
        onOpenRecorded={run => this.openRecorded(run.id, run.name)}
        onChanged={() => void model.refresh()}
      />,
      widgetId,
      trans.__('Run %1', name),
      trans.__('nbtrack run %1', id),
      undefined,
      [id],
      this.runTabs
    );
  }

  /**
   * Shows the notebook as run `id` recorded it, read-only, in its own tab (at most one per run).
   * It is no document: nothing in it can be saved over the user's notebook.
   */
  openRecorded(id: string, name: string): void {
    const { client, renderer, trans } = this.options;
    const widgetId = `nbtrack-recorded-${id}`;
    if (this.activate(widgetId)) {
      return;
    }
    this.show(
      <RecordedNotebook
        client={client}
        runId={id}
        runName={name}
        renderer={renderer}
        trans={trans}
      />,
      widgetId,
      trans.__('%1 (as recorded)', name),
      trans.__('The notebook as run %1 recorded it (read-only)', id),
      'nbtrack-recorded-widget'
    );
  }

  /** Opens a new tab comparing `ids` (two or more distinct runs; else does nothing). */
  openCompare(ids: string[], known: string[] = []): void {
    const { client, model, trans } = this.options;
    const unique = Array.from(new Set(ids));
    if (!canCompare(unique)) {
      return;
    }
    const names = unique.map(
      (id, i) =>
        model.runs.find(r => r.id === id)?.name ?? known[i] ?? id.slice(0, 8)
    );
    this.show(
      <CompareView
        client={client}
        runIds={unique}
        trans={trans}
        onOpenRun={(id, name) => this.openRun(id, name)}
      />,
      `nbtrack-compare-${++this._compareCount}`,
      trans._n('Compare %1 run', 'Compare %1 runs', unique.length),
      trans.__('nbtrack: compare %1', names.join(', ')),
      undefined,
      unique,
      this.compareTabs
    );
  }

  /** Brings the tab `widgetId` to the front; false when it is not open. */
  private activate(widgetId: string): boolean {
    const { app } = this.options;
    const open = Array.from(app.shell.widgets('main')).some(
      w => w.id === widgetId
    );
    if (open) {
      app.shell.activateById(widgetId);
    }
    return open;
  }

  private show(
    element: React.ReactElement,
    id: string,
    label: string,
    caption: string,
    className = 'nbtrack-runview-widget',
    runIds: string[] = [],
    tabs: WidgetTracker<MainAreaWidget> | null = null
  ): void {
    const { app } = this.options;
    const content = ReactWidget.create(element);
    content.addClass(className);
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.node.dataset.runIds = runIds.join(',');
    widget.title.label = label;
    widget.title.caption = caption;
    widget.title.icon = nbtrackIcon;
    widget.title.closable = true;
    app.shell.add(widget, 'main');
    app.shell.activateById(widget.id);
    void tabs?.add(widget); // saved for the layout restorer
  }

  private _compareCount = 0;
  private _reopened = new Signal<this, string>(this);
}

/** Saves `blob` as `filename` through the browser's download. */
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
