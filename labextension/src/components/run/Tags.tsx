/** The run's tags: each with a remove button, and a `key=value` box to add one. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import { parseTag } from '../../format';
import type { IRunDetail } from '../../tokens';
import { Section } from './Section';
import type { IRunState } from './useRun';

export function Tags(props: {
  client: NbtrackClient;
  run: IRunDetail;
  state: IRunState;
  trans: TranslationBundle;
}): JSX.Element {
  const { client, run, state, trans } = props;
  const [draft, setDraft] = React.useState('');
  const addTag = (event: React.FormEvent): void => {
    event.preventDefault();
    const tag = parseTag(draft);
    if ('error' in tag) {
      state.say(trans.__(tag.error), 'error');
      return;
    }
    void state.act(
      () => client.setTags(run.id, { [tag.key]: tag.value }),
      trans.__('Tag saved')
    );
    setDraft('');
  };
  return (
    <Section title={trans.__('Tags')}>
      <ul className="nbtrack-tags">
        {Object.keys(run.tags)
          .sort()
          .map(k => (
            <li key={k} className="nbtrack-tag">
              <span>
                {k}={run.tags[k]}
              </span>
              <button
                className="nbtrack-tag-remove"
                aria-label={trans.__('Remove tag %1', k)}
                title={trans.__('Remove tag %1', k)}
                onClick={() =>
                  void state.act(
                    () => client.deleteTag(run.id, k),
                    trans.__('Tag removed')
                  )
                }
              >
                ×
              </button>
            </li>
          ))}
      </ul>
      <form onSubmit={addTag} className="nbtrack-tag-form">
        <input
          className="jp-mod-styled"
          value={draft}
          placeholder="key=value"
          aria-label={trans.__('New tag')}
          onChange={e => setDraft(e.target.value)}
        />
        <button className="jp-mod-styled" type="submit">
          {trans.__('Add tag')}
        </button>
      </form>
    </Section>
  );
}
