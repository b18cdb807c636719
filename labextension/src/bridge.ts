/**
 * The bridge from the notebook widgets to the main-area views. A widget (`run_view()`, whose
 * front end is widgets-js/src/run.js) cannot reach JupyterLab's commands, so it asks the page:
 *
 *   window.dispatchEvent(new CustomEvent('nbtrack:open', {detail: {view, runId, runName}}))
 *
 * and this listener opens the view and sets `detail.handled = true` before `dispatchEvent`
 * returns. Where nothing sets it (classic Notebook, VS Code, JupyterLab without this extension)
 * the widget falls back on its own (the kernel writes a read-only copy).
 */

/** The event's name: widgets-js/src/run.js dispatches the same. */
export const OPEN_EVENT = 'nbtrack:open';

/** What a widget asks to open: `recorded-notebook` (the notebook as the run recorded it) or `run`. */
export interface IOpenRequest {
  view: string;
  runId: string;
  /** The tab's title; the id's first 8 characters when not given. */
  runName?: string;
  /** Set to true by the listener that opened the view. */
  handled?: boolean;
}

/** The views a request can open (MainAreaViews). */
export interface IOpenTarget {
  openRun(id: string, name: string): void;
  openRecorded(id: string, name: string): void;
}

const RUN_ID = /^[0-9a-fA-F]{1,32}$/;

/**
 * Opens what `detail` asks for in `target`; true when it did. Anything else (an unknown view,
 * a missing or malformed run id, a request already handled) is left alone and false.
 */
export function handleOpen(target: IOpenTarget, detail: unknown): boolean {
  if (!detail || typeof detail !== 'object') {
    return false;
  }
  const request = detail as IOpenRequest;
  if (
    request.handled === true ||
    typeof request.runId !== 'string' ||
    !RUN_ID.test(request.runId)
  ) {
    return false;
  }
  const name =
    typeof request.runName === 'string' && request.runName
      ? request.runName
      : request.runId.slice(0, 8);
  if (request.view === 'recorded-notebook') {
    target.openRecorded(request.runId, name);
  } else if (request.view === 'run') {
    target.openRun(request.runId, name);
  } else {
    return false;
  }
  request.handled = true;
  return true;
}

/** Answers the widgets' `nbtrack:open` events on `events` (the window); returns what stops it. */
export function listenForOpenRequests(
  target: IOpenTarget,
  events: EventTarget = window
): () => void {
  const listener = (event: Event): void => {
    handleOpen(target, (event as CustomEvent<unknown>).detail);
  };
  events.addEventListener(OPEN_EVENT, listener);
  return () => events.removeEventListener(OPEN_EVENT, listener);
}
