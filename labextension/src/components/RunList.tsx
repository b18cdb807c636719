/** The sidebar: runs newest first, grouped by experiment, with a filter box. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { canCompare } from '../compare';
import { FilterBox } from './FilterBox';
import { formatMetric, formatTime, runDuration } from '../format';
import {
  groupByExperiment,
  IRunRow,
  keyMetrics,
  paramsText,
  visibleRows
} from '../listing';
import type { RunListModel } from '../model';
import type { IRunSummary } from '../tokens';

export interface IRunListProps {
  model: RunListModel;
  trans: TranslationBundle;
  onOpen: (run: IRunSummary) => void;
  onCompare: (ids: string[]) => void;
}

export function StatusBadge(props: {
  status: string;
  trans: TranslationBundle;
}): JSX.Element {
  const labels: Record<string, string> = {
    running: props.trans.__('running'),
    finished: props.trans.__('finished'),
    failed: props.trans.__('failed'),
    killed: props.trans.__('killed')
  };
  return (
    <span className={`nbtrack-badge nbtrack-badge-${props.status}`}>
      {labels[props.status] ?? props.status}
    </span>
  );
}

export function RunList(props: IRunListProps): JSX.Element {
  const { model, trans } = props;
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const update = (): void => setVersion(v => v + 1);
    model.changed.connect(update);
    return () => {
      model.changed.disconnect(update);
    };
  }, [model]);

  // the runs whose nested runs are shown (folded by default)
  const [expanded, setExpanded] = React.useState<ReadonlySet<string>>(
    () => new Set()
  );
  const toggle = (id: string): void =>
    setExpanded(open => {
      const next = new Set(open);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });

  const now = Date.now() / 1000;
  const groups = groupByExperiment(model.runs);
  const comparable = canCompare(model.selected);

  return (
    <div className="nbtrack-sidebar-body">
      <FilterBox
        filter={model.filter}
        error={model.filterError}
        trans={trans}
        onApply={filter => void model.setFilter(filter)}
        keys={() => model.filterKeys.get()}
      />
      {model.error && (
        <div className="nbtrack-error" role="alert">
          {model.error}
        </div>
      )}
      {model.loadedOnce &&
        !model.runs.length &&
        !model.error &&
        !model.filterError && (
          <div className="nbtrack-empty">
            {model.filter
              ? trans.__('No run matches the filter.')
              : trans.__(
                  'No runs yet. Run %load_ext nbtrack and a %%track cell in a notebook.'
                )}
          </div>
        )}
      {model.runs.length > 0 && (
        <div
          className="nbtrack-selection"
          role="toolbar"
          aria-label={trans.__('Compare runs')}
        >
          <span className="nbtrack-selection-count" aria-live="polite">
            {model.selected.length
              ? trans.__('%1 selected', model.selected.length)
              : trans.__('Select runs to compare')}
          </span>
          <button
            className="jp-mod-styled jp-mod-accept nbtrack-compare"
            disabled={!comparable}
            title={
              comparable
                ? trans.__('Compare the selected runs side by side')
                : trans.__(
                    'Select two or more runs to compare (their checkboxes, or Ctrl+click)'
                  )
            }
            onClick={() => props.onCompare(model.selected)}
          >
            {trans.__('Compare')}
          </button>
          {model.selected.length > 0 && (
            <button
              className="jp-mod-styled nbtrack-clear-selection"
              onClick={() => model.clearSelection()}
            >
              {trans.__('Clear')}
            </button>
          )}
        </div>
      )}
      <div className="nbtrack-groups">
        {groups.map(group => (
          <section className="nbtrack-group" key={group.experiment}>
            <h3 className="nbtrack-group-title">
              <span>{group.experiment}</span>
              <GroupCount
                runs={group.runs}
                more={!!model.nextToken}
                trans={trans}
              />
            </h3>
            <ul className="nbtrack-runs">
              {visibleRows(group.runs, expanded).map(row => (
                <RunRow
                  key={row.run.id}
                  row={row}
                  now={now}
                  expanded={expanded.has(row.run.id)}
                  onToggle={() => toggle(row.run.id)}
                  {...props}
                />
              ))}
            </ul>
          </section>
        ))}
      </div>
      {model.nextToken && (
        <button
          className="jp-mod-styled nbtrack-more"
          onClick={() => void model.loadMore()}
        >
          {trans.__('Load more')}
        </button>
      )}
      {model.store && (
        <div className="nbtrack-store" title={model.store}>
          {trans.__('Store: %1', model.store)}
        </div>
      )}
    </div>
  );
}

/** One run of the list: select box, status, name, duration, time, key metrics and params; a
 * run holding nested runs (a replay's re-run cells, a sweep's runs) has a toggle showing them. */
function RunRow(
  props: IRunListProps & {
    row: IRunRow;
    now: number;
    expanded: boolean;
    onToggle: () => void;
  }
): JSX.Element {
  const { model, trans, row, now } = props;
  const { run, depth, nested } = row;
  const selected = model.selected.includes(run.id);
  const params = paramsText(run);
  const classes = ['nbtrack-run-item'];
  if (selected) {
    classes.push('nbtrack-run-selected');
  }
  if (depth > 0) {
    classes.push('nbtrack-run-nested');
  }
  return (
    <li
      className={classes.join(' ')}
      data-run-id={run.id}
      data-depth={depth}
      style={depth > 0 ? { paddingLeft: `${Math.min(depth, 4) * 12}px` } : {}}
    >
      <input
        type="checkbox"
        className="nbtrack-run-select"
        data-run-id={run.id}
        checked={selected}
        aria-label={trans.__('Select %1 for comparison', run.name)}
        title={trans.__('Select for comparison (Shift selects a range)')}
        onChange={e =>
          model.toggleSelected(
            run.id,
            (e.nativeEvent as MouseEvent).shiftKey === true
          )
        }
      />
      <button
        className="nbtrack-run"
        data-run-id={run.id}
        title={trans.__(
          '%1\nOpen the run (Ctrl+click selects it for comparison)',
          run.name
        )}
        onClick={e => {
          if (e.ctrlKey || e.metaKey || e.shiftKey) {
            model.toggleSelected(run.id, e.shiftKey);
          } else {
            props.onOpen(run);
          }
        }}
      >
        <span className="nbtrack-run-head">
          <StatusBadge status={run.status} trans={trans} />
          <span className="nbtrack-run-name" title={run.name}>
            {run.name}
          </span>
          <span className="nbtrack-run-duration">{runDuration(run, now)}</span>
        </span>
        {params && (
          <span className="nbtrack-run-params" title={params}>
            {params}
          </span>
        )}
        <span className="nbtrack-run-meta">
          <span className="nbtrack-run-time">{formatTime(run.start_time)}</span>
          {keyMetrics(
            run,
            model.settings.maxKeyMetrics,
            model.settings.keyMetrics
          ).map(([key, value]) => (
            <span className="nbtrack-metric" key={key}>
              <span className="nbtrack-metric-key">{key}</span>{' '}
              {formatMetric(value)}
            </span>
          ))}
        </span>
      </button>
      {nested > 0 && (
        <button
          className="nbtrack-run-toggle"
          aria-expanded={props.expanded}
          data-run-id={run.id}
          title={
            props.expanded
              ? trans.__('Hide the runs nested under %1', run.name)
              : trans.__('Show the runs nested under %1', run.name)
          }
          onClick={props.onToggle}
        >
          <span className="nbtrack-run-toggle-mark" aria-hidden="true">
            {props.expanded ? '▾' : '▸'}
          </span>{' '}
          {trans._n('%1 nested run', '%1 nested runs', nested)}
        </button>
      )}
    </li>
  );
}

/** The group's runs at the top of the list, and in the title all of them, nested ones too. */
/**
 * The runs of a group listed so far; with `more` (pages not loaded yet) an "at least": 95 of an
 * experiment of 10,000 read "95+", not "95".
 */
function GroupCount(props: {
  runs: IRunSummary[];
  more: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { runs, more, trans } = props;
  const top = runs.filter(r => !r.depth).length;
  const nested = runs.length - top;
  const listed = nested
    ? trans.__('%1 runs, and %2 nested under them', top, nested)
    : trans._n('%1 run', '%1 runs', top);
  return (
    <span
      className="nbtrack-count"
      title={
        more
          ? trans.__('%1 listed so far: Load more for the rest', listed)
          : listed
      }
    >
      {more ? `${top.toLocaleString()}+` : top.toLocaleString()}
    </span>
  );
}
