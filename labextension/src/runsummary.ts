/**
 * The line a run prints when it ends (nbtrack/recording/summary.py), drawn from its
 * `application/vnd.nbtrack.run+json` output: name, short id, status and duration, final
 * metrics, what failed where, and a button that opens the run through the `nbtrack:open`
 * event (bridge.ts). A renderer of data, not of HTML: it draws the same in trusted and
 * untrusted notebooks. Without this extension the output's text/plain shows instead.
 */
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { type IOpenRequest, OPEN_EVENT } from './bridge';

export const RUN_MIME = 'application/vnd.nbtrack.run+json';
/** Before HTML (50) and text (120): the richest output of the bundle. */
const RANK = 40;

/** The payload, as recording/summary.py writes it. */
export interface IRunSummary {
  id: string;
  name: string;
  experiment: string;
  status: string;
  took: string;
  metrics: [string, string][];
  more_metrics: number;
  failure: { where: string } | null;
  text: string;
}

function span(text: string, className: string): HTMLSpanElement {
  const el = document.createElement('span');
  el.className = className;
  el.textContent = text;
  return el;
}

/** Asks the page to open run `id` (the listener in index.ts opens its main-area view). */
export function openRun(id: string, name: string): boolean {
  const detail: IOpenRequest = { view: 'run', runId: id, runName: name };
  window.dispatchEvent(new CustomEvent(OPEN_EVENT, { detail }));
  return detail.handled === true;
}

export class RunSummaryRenderer
  extends Widget
  implements IRenderMime.IRenderer
{
  constructor() {
    super();
    this.addClass('nbtrack-RunSummary');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[RUN_MIME] as unknown as IRunSummary | undefined;
    const host = this.node;
    host.textContent = '';
    if (!data || typeof data.id !== 'string') {
      const text = model.data['text/plain'];
      host.textContent = typeof text === 'string' ? text : '';
      return;
    }
    host.dataset.status = data.status;
    host.title = data.text;
    host.append(
      span('', 'nbtrack-RunSummary-dot'),
      span(data.name, 'nbtrack-RunSummary-name'),
      span(data.id.slice(0, 8), 'nbtrack-RunSummary-id'),
      span(data.took, 'nbtrack-RunSummary-status')
    );
    if (data.failure) {
      host.append(span(data.failure.where, 'nbtrack-RunSummary-failure'));
    }
    for (const [key, value] of data.metrics ?? []) {
      const metric = span('', 'nbtrack-RunSummary-metric');
      metric.append(span(key, 'nbtrack-RunSummary-key'), ` ${value}`);
      host.append(metric);
    }
    if (data.more_metrics) {
      host.append(
        span(`+${data.more_metrics} more`, 'nbtrack-RunSummary-more')
      );
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'nbtrack-RunSummary-open';
    button.textContent = 'Open run';
    button.title = `Open run ${data.name} in nbtrack`;
    button.addEventListener('click', () => {
      openRun(data.id, data.name);
    });
    host.append(button);
  }
}

export const runSummaryFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RUN_MIME],
  defaultRank: RANK,
  createRenderer: () => new RunSummaryRenderer()
};

/**
 * Draws run summaries in every notebook: in the app's registry (which notebooks opened later
 * clone) and in the notebooks already open.
 */
export function registerRunSummary(
  rendermime: IRenderMimeRegistry,
  tracker: INotebookTracker | null
): void {
  const add = (registry: IRenderMimeRegistry): void => {
    if (!registry.getFactory(RUN_MIME)) {
      registry.addFactory(runSummaryFactory, RANK);
    }
  };
  add(rendermime);
  tracker?.forEach(panel => add(panel.content.rendermime));
  tracker?.widgetAdded.connect((_, panel) => add(panel.content.rendermime));
}
