/**
 * The main-area comparison of runs: params, metrics and tags side by side, the compare widget's
 * charts (metric overlay, parallel coordinates, scatter), then the code diff of the runs' bodies.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../api';
import {
  cellLabel,
  compareSections,
  diffView,
  ICompareSection,
  identicalCount
} from '../compare';
import type {
  CompareChart,
  IChartChoice,
  ICodeDiff,
  ICompareCharts,
  IComparison
} from '../tokens';
import { StatusBadge } from './RunList';
import { VegaChart } from './VegaChart';

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
  trans: TranslationBundle;
}): JSX.Element {
  const { diff, trans } = props;
  const [history, setHistory] = React.useState(false);
  const view = diffView(diff, history);
  const kinds: Record<string, string> = {
    same: trans.__('same'),
    changed: trans.__('changed'),
    added: trans.__('added'),
    removed: trans.__('removed')
  };
  const { counts } = view;
  const parts = [
    counts.changed && trans._n('%1 changed', '%1 changed', counts.changed),
    counts.added && trans._n('%1 added', '%1 added', counts.added),
    counts.removed && trans._n('%1 removed', '%1 removed', counts.removed),
    counts.same &&
      trans._n('%1 identical cell', '%1 identical cells', counts.same)
  ].filter(Boolean);
  const total = counts.same + counts.changed + counts.added + counts.removed;
  return (
    <section className="nbtrack-section nbtrack-codediff">
      <header className="nbtrack-codediff-header">
        <h2>
          {trans.__(
            'Code: %1 → %2',
            props.names[diff.a] ?? diff.a.slice(0, 8),
            props.names[diff.b] ?? diff.b.slice(0, 8)
          )}
        </h2>
        {view.hasHistory && (
          <label
            className="nbtrack-codediff-history"
            title={trans.__(
              "Diff every cell each run's kernel ran up to the run's end, not only the cells of the runs"
            )}
          >
            <input
              type="checkbox"
              checked={history}
              onChange={e => setHistory(e.target.checked)}
            />{' '}
            {trans.__('Show whole history')}
          </label>
        )}
      </header>
      <p className="nbtrack-muted nbtrack-codediff-summary">
        {total === 0
          ? history
            ? trans.__('No recorded cells')
            : trans.__(
                'Neither run has cells of its own; Show whole history diffs the cells run before them'
              )
          : view.cells.length === 0
            ? trans._n('Identical: %1 cell', 'Identical: %1 cells', counts.same)
            : parts.join(', ')}
      </p>
      <ol className="nbtrack-diff-cells">
        {view.cells.map((cell, i) => (
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

function Choice(props: {
  label: string;
  value: string;
  options: string[];
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <label className="nbtrack-chart-choice">
      {props.label}{' '}
      <select
        value={props.value}
        aria-label={props.label}
        onChange={e => props.onChange(e.target.value)}
      >
        {props.options.map(o => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The compare widget's three charts, from the specs the server made. */
function Charts(props: {
  charts: ICompareCharts;
  choose: (choice: IChartChoice) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { charts, trans } = props;
  const { options } = charts;
  const titles: Record<CompareChart, string> = {
    overlay: trans.__('Metric overlay'),
    parallel: trans.__('Parallel coordinates'),
    scatter: trans.__('Scatter')
  };
  const controls: Record<CompareChart, JSX.Element | null> = {
    overlay: options.metrics.length ? (
      <Choice
        label={trans.__('metric')}
        value={options.metric}
        options={options.metrics}
        onChange={metric => props.choose({ metric })}
      />
    ) : null,
    parallel: null,
    scatter: options.fields.length ? (
      <>
        <Choice
          label={trans.__('x')}
          value={options.x}
          options={options.fields}
          onChange={x => props.choose({ x })}
        />
        <Choice
          label={trans.__('y')}
          value={options.y}
          options={options.fields}
          onChange={y => props.choose({ y })}
        />
      </>
    ) : null
  };
  return (
    <section className="nbtrack-section nbtrack-compare-charts">
      <h2>{trans.__('Charts')}</h2>
      {(['overlay', 'parallel', 'scatter'] as const).map(kind => (
        <div
          key={kind}
          className={`nbtrack-compare-chart nbtrack-chart-${kind}`}
        >
          <div className="nbtrack-chart-head">
            <h3>{titles[kind]}</h3>
            {controls[kind]}
          </div>
          {Object.keys(charts[kind]).length ? (
            <VegaChart spec={charts[kind]} label={titles[kind]} />
          ) : (
            <p className="nbtrack-muted">
              {charts.messages[kind] ?? trans.__('Nothing to draw.')}
            </p>
          )}
        </div>
      ))}
    </section>
  );
}

export function CompareView(props: ICompareViewProps): JSX.Element {
  const { client, runIds, trans } = props;
  const [data, setData] = React.useState<IComparison | null>(null);
  const [error, setError] = React.useState('');
  const [showIdentical, setShowIdentical] = React.useState(false);
  const [choice, setChoice] = React.useState<IChartChoice>({});

  React.useEffect(() => {
    let live = true;
    client
      .compare(runIds, choice)
      .then(d => live && setData(d))
      .catch(e => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [client, runIds, choice]);

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
        {identical > 0 && (
          <label className="nbtrack-show-identical">
            <input
              type="checkbox"
              checked={showIdentical}
              onChange={e => setShowIdentical(e.target.checked)}
            />{' '}
            {trans._n(
              'Show the %1 identical row',
              'Show the %1 identical rows',
              identical
            )}
          </label>
        )}
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
      {data.charts && (
        <Charts
          charts={data.charts}
          choose={c => setChoice(prev => ({ ...prev, ...c }))}
          trans={trans}
        />
      )}
      {data.code.map(diff => (
        <CodeDiff
          key={`${diff.a}-${diff.b}`}
          diff={diff}
          names={names}
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
