/**
 * The state a run view shares between its parts: the loaded run (reloaded every 3 s while it
 * runs), the one status message, and whether an edit or a replay is under way.
 */
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import type { IRunDetail } from '../../tokens';

/** How an action ended: done, a negative outcome (a check that failed), or an error. */
export type MessageKind = 'success' | 'failure' | 'error' | 'info';

/** The outcome of the last action: one at a time, a new action replaces it. */
export interface IRunMessage {
  text: string;
  kind: MessageKind;
}

export interface IRunState {
  run: IRunDetail | null;
  /** Why the run could not be loaded. */
  error: string;
  /** The outcome of the last action, shown under the header; null when there is none. */
  message: IRunMessage | null;
  /** An edit or a replay is under way. */
  busy: boolean;
  reload: () => Promise<void>;
  /** Shows `text` as the outcome of the last action (null clears it). */
  say: (text: string | null, kind?: MessageKind) => void;
  /** Runs `what` with `busy` set. */
  whileBusy: (what: () => Promise<void>) => Promise<void>;
  /** Runs an edit; then says `done` (or the error), reloads and tells the sidebar. */
  act: (what: () => Promise<unknown>, done: string) => Promise<void>;
}

export function useRun(
  client: NbtrackClient,
  runId: string,
  onChanged: () => void
): IRunState {
  const [run, setRun] = React.useState<IRunDetail | null>(null);
  const [error, setError] = React.useState('');
  const [message, setMessage] = React.useState<IRunMessage | null>(null);
  const say = React.useCallback(
    (text: string | null, kind: MessageKind = 'info') =>
      setMessage(text === null ? null : { text, kind }),
    []
  );
  const [busy, setBusy] = React.useState(false);

  const reload = React.useCallback(async () => {
    try {
      setRun(await client.getRun(runId));
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [client, runId]);
  React.useEffect(() => {
    void reload();
  }, [reload]);
  React.useEffect(() => {
    if (run?.status !== 'running') {
      return;
    }
    const timer = setInterval(() => void reload(), 3000);
    return () => clearInterval(timer);
  }, [run?.status, reload]);

  const whileBusy = async (what: () => Promise<void>): Promise<void> => {
    setBusy(true);
    try {
      await what();
    } finally {
      setBusy(false);
    }
  };
  const act = (what: () => Promise<unknown>, done: string): Promise<void> =>
    whileBusy(async () => {
      say(null);
      try {
        await what();
        say(done, 'success');
        await reload();
        onChanged();
      } catch (e) {
        say((e as Error).message, 'error');
      }
    });
  return {
    run,
    error,
    message,
    busy,
    reload,
    say,
    whileBusy,
    act
  };
}

/**
 * An editable copy of `value` (a name, the notes), reset to it whenever `source` (the loaded
 * run) is replaced, as a reload does.
 */
export function useDraft(
  value: string,
  source: unknown
): [string, (draft: string) => void] {
  const [draft, setDraft] = React.useState(value);
  const [seen, setSeen] = React.useState(source);
  if (seen !== source) {
    setSeen(source);
    setDraft(value);
  }
  return [draft, setDraft];
}
