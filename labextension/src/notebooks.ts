/** Finding a recorded cell in the notebooks open in JupyterLab. */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import type { ICellRecord, IRunDetail } from './tokens';

/** Where a recorded notebook path and an open notebook are the same file. */
export function samePath(recorded: string | null, open: string): boolean {
  if (!recorded) {
    return false;
  }
  const r = recorded.replace(/\\/g, '/');
  return r === open || r.endsWith(`/${open}`);
}

/**
 * Activates the open notebook holding `cell` (the run's own notebook first) and scrolls to it;
 * false when no open notebook has the cell any more.
 */
export function scrollToCell(
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
