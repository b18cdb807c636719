/**
 * Where the run came from and what came of it: its artifacts, the notebook revision, the
 * environment and the replays of it.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { describeEnvironment } from '../../environment';
import { formatTime } from '../../format';
import type { IRunDetail } from '../../tokens';
import { KeyValues, Section } from './Section';

interface IProvenanceProps {
  run: IRunDetail;
  trans: TranslationBundle;
}

/** Download links of the run's artifacts; nothing when it has none. */
export function Artifacts(
  props: IProvenanceProps & {
    artifactUrl: (runId: string, path: string) => string;
  }
): JSX.Element | null {
  const { run, trans } = props;
  if (!run.artifacts.length) {
    return null;
  }
  return (
    <Section title={trans.__('Artifacts')}>
      <ul className="nbtrack-artifacts">
        {run.artifacts.map(a => (
          <li key={a.path}>
            <a href={props.artifactUrl(run.id, a.path)} download>
              {a.path}
            </a>{' '}
            <span className="nbtrack-muted">{a.size} B</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}

/** The notebook's path, hash and git revision, as far as they were recorded. */
export function NotebookRevision(props: IProvenanceProps): JSX.Element {
  const { run, trans } = props;
  return (
    <Section title={trans.__('Notebook revision')}>
      <KeyValues
        items={Object.fromEntries(
          Object.entries(run.notebook).filter(([, v]) => v !== null)
        )}
        empty={trans.__('Not recorded')}
      />
    </Section>
  );
}

/**
 * The environment as labelled rows (Python, platform, CPU, memory, GPUs), the installed
 * packages and the whole manifest folded below them.
 */
export function Environment(props: IProvenanceProps): JSX.Element {
  const { run, trans } = props;
  if (!run.environment) {
    return (
      <Section title={trans.__('Environment')}>
        <p className="nbtrack-muted">{trans.__('Not recorded')}</p>
      </Section>
    );
  }
  const { rows, packages } = describeEnvironment(run.environment);
  return (
    <Section title={trans.__('Environment')}>
      {rows.length > 0 && (
        <table className="nbtrack-kv nbtrack-environment">
          <tbody>
            {rows.map(r => (
              <tr key={r.label}>
                <th scope="row">{trans.__(r.label)}</th>
                <td>{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {packages.length > 0 && (
        <details className="nbtrack-packages">
          <summary>
            {trans._n(
              '%1 installed package',
              '%1 installed packages',
              packages.length
            )}
          </summary>
          <ul className="nbtrack-package-list">
            {packages.map(([name, version]) => (
              <li key={name}>
                {name} <span className="nbtrack-muted">{version}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <details>
        <summary>{trans.__('Whole manifest (JSON)')}</summary>
        <pre className="nbtrack-code">
          {JSON.stringify(run.environment, null, 2)}
        </pre>
      </details>
    </Section>
  );
}

/** The runs that replayed this one and their verdicts; nothing before a replay. */
export function Replays(props: IProvenanceProps): JSX.Element | null {
  const { run, trans } = props;
  if (!run.replays.length) {
    return null;
  }
  return (
    <Section title={trans.__('Replays')}>
      <ul>
        {run.replays.map(r => (
          <li key={r.id}>
            <code>{r.id.slice(0, 12)}</code> {formatTime(r.start_time)} ·{' '}
            {r.reproduced === null
              ? r.status
              : r.reproduced
                ? trans.__('reproduced')
                : trans.__('diverged')}
          </li>
        ))}
      </ul>
    </Section>
  );
}
