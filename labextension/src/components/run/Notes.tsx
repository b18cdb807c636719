/** The run's notes, edited in place and saved with a button that shows once they differ. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import type { IRunDetail } from '../../tokens';
import { Section } from './Section';
import { IRunState, useDraft } from './useRun';

export function Notes(props: {
  client: NbtrackClient;
  run: IRunDetail;
  state: IRunState;
  trans: TranslationBundle;
}): JSX.Element {
  const { client, run, state, trans } = props;
  const [notes, setNotes] = useDraft(run.notes ?? '', run);
  return (
    <Section title={trans.__('Notes')}>
      <textarea
        className="jp-mod-styled nbtrack-notes"
        value={notes}
        rows={4}
        aria-label={trans.__('Notes')}
        onChange={e => setNotes(e.target.value)}
      />
      {notes !== (run.notes ?? '') && (
        <button
          className="jp-mod-styled jp-mod-accept nbtrack-notes-save"
          onClick={() =>
            void state.act(
              () => client.setNotes(run.id, notes),
              trans.__('Notes saved')
            )
          }
        >
          {trans.__('Save notes')}
        </button>
      )}
    </Section>
  );
}
