/**
 * Finding a recorded cell in the notebooks open in JupyterLab, and telling a notebook's
 * kernel when the notebook is renamed.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
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

/**
 * The code that tells a Python kernel its notebook moved from `oldPath` to `newPath` (paths
 * as the contents API gives them): nbtrack.capture.revision.notebook_renamed, which points the
 * kernel's `__session__` at the renamed file. It leaves no name behind and does nothing in a
 * kernel without nbtrack.
 */
export function renameCode(oldPath: string, newPath: string): string {
  const args = `${JSON.stringify(oldPath)}, ${JSON.stringify(newPath)}`;
  return [
    'def __nbtrack_renamed():',
    '    try:',
    '        from nbtrack.capture.revision import notebook_renamed',
    '    except ImportError:',
    '        return',
    `    notebook_renamed(${args}, get_ipython().user_ns)`,
    '__nbtrack_renamed()',
    'del __nbtrack_renamed'
  ].join('\n');
}

/** Sends {@link renameCode} to the session's kernel, silently, if it is a Python kernel. */
async function tellKernel(
  session: ISessionContext,
  oldPath: string,
  newPath: string
): Promise<void> {
  const kernel = session.session?.kernel;
  if (!kernel) {
    return;
  }
  const info = await kernel.info;
  if (info.language_info.name !== 'python') {
    return;
  }
  await kernel.requestExecute({
    code: renameCode(oldPath, newPath),
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  }).done;
}

/**
 * A kernel learns its notebook's path only when it starts (`JPY_SESSION_NAME`): when an open
 * notebook is renamed or moved, tell its kernel, so the runs it records after the rename carry
 * the renamed file's revision.
 */
export function tellKernelsOfRenames(tracker: INotebookTracker): void {
  const watch = (panel: NotebookPanel): void => {
    let path = panel.context.path;
    panel.context.pathChanged.connect((_, newPath) => {
      const oldPath = path;
      path = newPath;
      if (oldPath !== newPath) {
        // a kernel that is gone or refuses: nothing to tell, and the notebook works as before
        tellKernel(panel.sessionContext, oldPath, newPath).catch(
          () => undefined
        );
      }
    });
  };
  tracker.forEach(watch);
  tracker.widgetAdded.connect((_, panel) => watch(panel));
}
