/** The sidebar: runs newest first, grouped by experiment, with a filter box. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { canCompare } from '../compare';
import { FilterBox } from './FilterBox';
import { formatMetric, formatTime, runDuration } from '../format';
import { groupByExperiment, keyMetrics } from '../listing';
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

  const now = Date.now() / 1000;
  const groups = groupByExperiment(model.runs);

  return (
    <div className="nbtrack-sidebar-body">
      <FilterBox
        filter={model.filter}
        error={model.filterError}
        trans={trans}
        onApply={filter => void model.setFilter(filter)}
      />
      {model.error && (
        <div className="nbtrack-error" role="alert">
          {model.error}
        </div>
      )}
      {model.loadedOnce && !model.runs.length && !model.error && (
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
            disabled={!canCompare(model.selected)}
            title={trans.__('Compare the selected runs side by side')}
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
              <span className="nbtrack-count">{group.runs.length}</span>
            </h3>
            <ul className="nbtrack-runs">
              {group.runs.map(run => (
                <li
                  key={run.id}
                  className={
                    model.selected.includes(run.id)
                      ? 'nbtrack-run-item nbtrack-run-selected'
                      : 'nbtrack-run-item'
                  }
                >
                  <input
                    type="checkbox"
                    className="nbtrack-run-select"
                    data-run-id={run.id}
                    checked={model.selected.includes(run.id)}
                    aria-label={trans.__('Select %1 for comparison', run.name)}
                    title={trans.__(
                      'Select for comparison (Shift selects a range)'
                    )}
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
                      'Open run %1 (Ctrl+click selects it for comparison)',
                      run.id
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
                      <span className="nbtrack-run-name">{run.name}</span>
                      <span className="nbtrack-run-duration">
                        {runDuration(run, now)}
                      </span>
                    </span>
                    <span className="nbtrack-run-meta">
                      <span className="nbtrack-run-time">
                        {formatTime(run.start_time)}
                      </span>
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
                </li>
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
