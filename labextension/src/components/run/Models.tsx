/**
 * The models a run holds (`nbtrack.log_model`, or autolog): name, flavor, class, the library
 * versions it was saved with, and the Python that loads it, as `nbtrack show` lists them.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { IRunDetail } from '../../tokens';
import { Section } from './Section';

/** One model of the run read model (`models` of a run in full). */
export interface IRunModel {
  name: string;
  flavor: string;
  class: string | null;
  /** Library name to the version the model was saved with (python, scikit-learn, ...). */
  versions: Record<string, string>;
  /** `model = nbtrack.load_model("<run id>", "<name>")` */
  snippet: string;
}

/** `scikit-learn 1.9.1, numpy 2.4.6` */
export function versionsLine(m: IRunModel): string {
  return Object.entries(m.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function Models(props: {
  run: IRunDetail;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  const models = (props.run as { models?: IRunModel[] }).models ?? [];
  if (!models.length) {
    return null;
  }
  return (
    <Section title={trans.__('Models')} className="nbtrack-models">
      <ul className="nbtrack-models-list">
        {models.map(m => (
          <li key={m.name} title={m.class ?? undefined}>
            <strong>{m.name}</strong>{' '}
            <span className="nbtrack-tag">{m.flavor}</span>{' '}
            <span className="nbtrack-muted">{versionsLine(m)}</span>
            <pre className="nbtrack-code" title={trans.__('Load this model')}>
              {m.snippet}
            </pre>
          </li>
        ))}
      </ul>
    </Section>
  );
}
