/** The main-area comparison of runs: params, metrics and tags side by side, then the code diff. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../api';
import {
  cellLabel,
  compareSections,
  diffCells,
  diffSummary,
  ICompareSection,
  identicalCount
} from '../compare';
import type { ICodeDiff, IComparison } from '../tokens';
import { StatusBadge } from './RunList';

export interface ICompareViewProps {
  client: NbtrackClient;
  runIds: string[];
  trans: TranslationBundle;
  onOpenRun: (id: string, name: string) => void;
}

function sectionTitle(
  kind: ICompareSection['kind'],
  trans: TranslationBundle
): string {
  return kind === 'params'
    ? trans.__('Parameters')
    : kind === 'metrics'
      ? trans.__('Metrics (last, min … max)')
      : trans.__('Tags');
}

function SectionRows(props: {
  section: ICompareSection;
  columns: number;
  trans: TranslationBundle;
}): JSX.Element {
  const { section, trans } = props;
  return (
    <tbody className={`nbtrack-compare-${section.kind}`}>
      <tr className="nbtrack-compare-section">
        <th scope="colgroup" colSpan={props.columns + 1}>
          {sectionTitle(section.kind, trans)}
        </th>
      </tr>
      {section.rows.length === 0 && (
        <tr>
          <td className="nbtrack-muted" colSpan={props.columns + 1}>
            {section.hidden
              ? trans._n(
                  '%1 identical row hidden',
                  '%1 identical rows hidden',
                  section.hidden
                )
              : trans.__('None recorded')}
          </td>
        </tr>
      )}
      {section.rows.map(row => (
        <tr
          key={row.key}
          className={row.same ? 'nbtrack-row-same' : 'nbtrack-row-differs'}
          data-key={row.key}
        >
          <th scope="row">{row.key}</th>
          {row.cells.map((cell, i) => (
            <td key={i} className={cell.missing ? 'nbtrack-missing' : ''}>
              {cell.text}
              {cell.detail && (
                <span className="nbtrack-compare-detail">{cell.detail}</span>
              )}
            </td>
          ))}
        </tr>
      ))}
    </tbody>
  );
}

function CodeDiff(props: {
  diff: ICodeDiff;
  names: Record<string, string>;
  showSame: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { diff, trans } = props;
  const counts = diffSummary(diff);
  const cells = diffCells(diff, props.showSame);
  const kinds: Record<string, string> = {
    same: trans.__('same'),
    changed: trans.__('changed'),
    added: trans.__('added'),
    removed: trans.__('removed')
  };
  return (
    <section className="nbtrack-section nbtrack-codediff">
      <h2>
        {trans.__(
          'Code: %1 → %2',
          props.names[diff.a] ?? diff.a.slice(0, 8),
          props.names[diff.b] ?? diff.b.slice(0, 8)
        )}
      </h2>
      <p className="nbtrack-muted nbtrack-codediff-summary">
        {diff.cells.length === 0
          ? trans.__('No recorded cells')
          : trans.__(
              '%1 same, %2 changed, %3 added, %4 removed',
              counts.same,
              counts.changed,
              counts.added,
              counts.removed
            )}
      </p>
      <ol className="nbtrack-diff-cells">
        {cells.map((cell, i) => (
          <li key={i} className={`nbtrack-diff-cell nbtrack-diff-${cell.kind}`}>
            <div className="nbtrack-diff-head">
              <span className="nbtrack-diff-kind">{kinds[cell.kind]}</span>{' '}
              <span className="nbtrack-cell-count">{cellLabel(cell)}</span>
            </div>
            {cell.lines.length > 0 && (
              <pre className="nbtrack-code nbtrack-diff-lines">
                {cell.lines.map((line, j) => (
                  <span
                    key={j}
                    className={
                      line.op === '+'
                        ? 'nbtrack-diff-line nbtrack-diff-add'
                        : line.op === '-'
                          ? 'nbtrack-diff-line nbtrack-diff-del'
                          : 'nbtrack-diff-line'
                    }
                  >
                    {`${line.op} ${line.text}\n`}
                  </span>
                ))}
              </pre>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function CompareView(props: ICompareViewProps): JSX.Element {
  const { client, runIds, trans } = props;
  const [data, setData] = React.useState<IComparison | null>(null);
  const [error, setError] = React.useState('');
  const [showIdentical, setShowIdentical] = React.useState(false);

  React.useEffect(() => {
    let live = true;
    client
      .compare(runIds)
      .then(d => live && setData(d))
      .catch(e => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [client, runIds]);

  if (error) {
    return (
      <div className="nbtrack-compareview">
        <div className="nbtrack-error" role="alert">
          {error}
        </div>
      </div>
    );
  }
  if (!data) {
    return (
      <div className="nbtrack-compareview nbtrack-loading">
        {trans.__('Loading…')}
      </div>
    );
  }
  const sections = compareSections(data, showIdentical);
  const identical = identicalCount(data);
  const names = Object.fromEntries(data.runs.map(r => [r.id, r.name]));
  return (
    <div className="nbtrack-compareview">
      <header className="nbtrack-runview-header">
        <h1 className="nbtrack-compare-title">
          {trans._n('Comparing %1 run', 'Comparing %1 runs', data.runs.length)}
        </h1>
        <label className="nbtrack-show-identical">
          <input
            type="checkbox"
            checked={showIdentical}
            onChange={e => setShowIdentical(e.target.checked)}
          />{' '}
          {trans._n(
            'Show the %1 identical row and cells',
            'Show the %1 identical rows and cells',
            identical
          )}
        </label>
      </header>
      <div className="nbtrack-compare-scroll">
        <table className="nbtrack-compare-table">
          <thead>
            <tr>
              <td />
              {data.runs.map(run => (
                <th scope="col" key={run.id} data-run-id={run.id}>
                  <button
                    className="nbtrack-compare-run"
                    title={trans.__('Open run %1', run.id)}
                    onClick={() => props.onOpenRun(run.id, run.name)}
                  >
                    {run.name}
                  </button>
                  <span className="nbtrack-compare-run-meta">
                    <StatusBadge status={run.status} trans={trans} />{' '}
                    {run.experiment} · <code>{run.id.slice(0, 8)}</code>
                  </span>
                </th>
              ))}
            </tr>
          </thead>
          {sections.map(section => (
            <SectionRows
              key={section.kind}
              section={section}
              columns={data.runs.length}
              trans={trans}
            />
          ))}
        </table>
      </div>
      {data.code.map(diff => (
        <CodeDiff
          key={`${diff.a}-${diff.b}`}
          diff={diff}
          names={names}
          showSame={showIdentical}
          trans={trans}
        />
      ))}
      {data.runs.length > 2 && (
        <p className="nbtrack-muted">
          {trans.__('The code diff compares the first two runs.')}
        </p>
      )}
    </div>
  );
}
