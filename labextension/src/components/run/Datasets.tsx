/**
 * The datasets a run declared with `nbtrack.log_input`: name, context, short digest and what
 * it holds (rows x columns of a table, an array's shape, a file's path), as `nbtrack show`.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { IRunDetail } from '../../tokens';
import { Section } from './Section';

/** One dataset of the run read model (`datasets` of a run in full). */
export interface IRunDataset {
  name: string;
  digest: string;
  context: string | null;
  kind: string;
  source: string | null;
  /** `[{name, type}]` for a table, `{dtype, shape}` for an array, else null. */
  schema: unknown;
  rows: number | null;
}

/** What a dataset holds, in a few words. */
export function datasetSummary(d: IRunDataset): string {
  const schema = d.schema as
    | { name?: string; type?: string }[]
    | { dtype?: string; shape?: number[] }
    | null;
  if (Array.isArray(schema)) {
    return `${d.rows ?? '?'} rows × ${schema.length} columns`;
  }
  if (schema && Array.isArray(schema.shape)) {
    return `array ${schema.shape.join('×')} ${schema.dtype ?? ''}`.trim();
  }
  return d.source ?? d.kind;
}

function columnsOf(d: IRunDataset): string | undefined {
  if (!Array.isArray(d.schema)) {
    return undefined;
  }
  return (d.schema as { name?: string; type?: string }[])
    .map(c => `${c.name}: ${c.type}`)
    .join('\n');
}

export function Datasets(props: {
  run: IRunDetail;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  const datasets = (props.run as { datasets?: IRunDataset[] }).datasets ?? [];
  if (!datasets.length) {
    return null;
  }
  return (
    <Section title={trans.__('Datasets')} className="nbtrack-datasets">
      <ul className="nbtrack-datasets-list">
        {datasets.map(d => (
          <li key={`${d.name}/${d.digest}`} title={columnsOf(d)}>
            <strong>{d.name}</strong>{' '}
            {d.context && (
              <span className="nbtrack-tag nbtrack-dataset-context">
                {d.context}
              </span>
            )}{' '}
            <code title={d.digest}>{d.digest.slice(0, 12)}</code>{' '}
            <span className="nbtrack-muted">{datasetSummary(d)}</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}
