/**
 * The Runs view's page: the filter box (the sidebar's language and error display), the
 * experiment and active/deleted choice, the column picker, the selection's actions and the
 * windowed table.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ITableRun } from './client';
import type { KeyGroup } from './columns';
import type { RunsTableModel } from './model';
import { RunsTable } from './RunsTable';
import { FilterBox } from '../components/FilterBox';

/** The most runs the compare view takes at once (the server's limit). */
export const MAX_COMPARED = 20;

export interface IRunsViewProps {
  model: RunsTableModel;
  trans: TranslationBundle;
  onOpen: (run: ITableRun) => void;
  onCompare: (ids: string[]) => void;
  /** Deletes or restores the selected runs after asking. */
  onBulk: (action: 'delete' | 'restore') => void;
  onCsv: () => void;
}

export function RunsView(props: IRunsViewProps): JSX.Element {
  const { model, trans } = props;
  const [, setVersion] = React.useState(0);
  const [picking, setPicking] = React.useState(false);
  React.useEffect(() => {
    const update = (): void => setVersion(v => v + 1);
    model.changed.connect(update);
    return () => {
      model.changed.disconnect(update);
    };
  }, [model]);

  const n = model.selected.size;
  const ids = model.selectedIds;
  const deleted = model.search.deleted;
  return (
    <div className="nbtrack-rv">
      <div className="nbtrack-rv-toolbar">
        <FilterBox
          className="nbtrack-rv-filter"
          filter={model.search.filter}
          error={model.filterError}
          trans={trans}
          onApply={filter => void model.setFilter(filter)}
          keys={() => Promise.resolve(model.keys)}
        />
        <select
          className="jp-mod-styled nbtrack-rv-experiment"
          aria-label={trans.__('Experiment')}
          value={model.search.experiment}
          onChange={e => void model.setExperiment(e.target.value)}
        >
          <option value="">{trans.__('All experiments')}</option>
          {(model.keys.experiments ?? []).map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <select
          className="jp-mod-styled nbtrack-rv-lifecycle"
          aria-label={trans.__('Active or deleted runs')}
          value={deleted ? 'deleted' : 'active'}
          onChange={e => void model.setDeleted(e.target.value === 'deleted')}
        >
          <option value="active">{trans.__('Active')}</option>
          <option value="deleted">{trans.__('Deleted')}</option>
        </select>
        <button
          className="jp-mod-styled nbtrack-rv-columns-button"
          aria-expanded={picking}
          onClick={() => setPicking(!picking)}
        >
          {trans.__('Columns (%1)', model.chosen.length)}
        </button>
      </div>
      {model.error && (
        <div className="nbtrack-error" role="alert">
          {model.error}
        </div>
      )}
      {picking && <ColumnPicker model={model} trans={trans} />}
      <div
        className="nbtrack-rv-actions"
        role="toolbar"
        aria-label={trans.__('Selected runs')}
      >
        <span className="nbtrack-rv-count" aria-live="polite">
          {model.total === 1
            ? trans.__('1 run')
            : trans.__('%1 runs', model.total.toLocaleString())}
          {n > 0 && ` · ${trans.__('%1 selected', n)}`}
        </span>
        <button
          className="jp-mod-styled jp-mod-accept nbtrack-rv-compare"
          disabled={n < 2 || n > MAX_COMPARED}
          title={
            n > MAX_COMPARED
              ? trans.__('Compare takes at most %1 runs', MAX_COMPARED)
              : trans.__('Compare the selected runs side by side')
          }
          onClick={() => props.onCompare(ids)}
        >
          {trans.__('Compare')}
        </button>
        {deleted ? (
          <button
            className="jp-mod-styled nbtrack-rv-restore"
            disabled={!n}
            onClick={() => props.onBulk('restore')}
          >
            {trans.__('Restore')}
          </button>
        ) : (
          <button
            className="jp-mod-styled jp-mod-warn nbtrack-rv-delete"
            disabled={!n}
            onClick={() => props.onBulk('delete')}
          >
            {trans.__('Delete')}
          </button>
        )}
        <button
          className="jp-mod-styled nbtrack-rv-csv"
          title={
            n
              ? trans.__('The selected runs with the shown columns, as CSV')
              : trans.__('Every matching run with the shown columns, as CSV')
          }
          onClick={() => props.onCsv()}
        >
          {n
            ? trans.__('Download CSV (%1)', n)
            : trans.__('Download CSV (all)')}
        </button>
        {n > 0 && (
          <button
            className="jp-mod-styled nbtrack-rv-clear"
            onClick={() => model.clearSelection()}
          >
            {trans.__('Clear selection')}
          </button>
        )}
        <button
          className="jp-mod-styled nbtrack-rv-refresh"
          onClick={() => void model.reload()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      {model.loadedOnce && model.total === 0 && !model.error && (
        <div className="nbtrack-empty">
          {model.filterError
            ? ''
            : model.search.filter
              ? trans.__('No run matches the filter.')
              : deleted
                ? trans.__('No deleted runs.')
                : trans.__('No runs yet.')}
        </div>
      )}
      <RunsTable model={model} trans={trans} onOpen={props.onOpen} />
    </div>
  );
}

function ColumnPicker(props: {
  model: RunsTableModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const [query, setQuery] = React.useState('');
  const chosen = new Set(model.chosen);
  const toggle = (id: string): void => {
    model.setColumns(
      chosen.has(id)
        ? model.chosen.filter(c => c !== id)
        : model.chosen.concat([id])
    );
  };
  const groups: [KeyGroup, string][] = [
    ['metrics', trans.__('Metrics')],
    ['params', trans.__('Parameters')],
    ['tags', trans.__('Tags')]
  ];
  const q = query.trim().toLowerCase();
  return (
    <div
      className="nbtrack-rv-picker"
      role="group"
      aria-label={trans.__('Columns')}
    >
      <input
        className="jp-mod-styled nbtrack-rv-picker-search"
        type="search"
        value={query}
        placeholder={trans.__('Find a key')}
        aria-label={trans.__('Find a key')}
        onChange={e => setQuery(e.target.value)}
      />
      <div className="nbtrack-rv-picker-groups">
        {groups.map(([group, label]) => {
          const keys = model.keys[group].filter(
            k => !q || k.toLowerCase().includes(q)
          );
          return (
            <fieldset key={group} className="nbtrack-rv-picker-group">
              <legend>{label}</legend>
              {keys.length === 0 && (
                <span className="nbtrack-rv-picker-none">
                  {trans.__('none')}
                </span>
              )}
              {keys.map(key => {
                const id = `${group}.${key}`;
                return (
                  <label key={id} className="nbtrack-rv-picker-key" title={id}>
                    <input
                      type="checkbox"
                      data-column={id}
                      checked={chosen.has(id)}
                      onChange={() => toggle(id)}
                    />
                    <span>{key}</span>
                  </label>
                );
              })}
            </fieldset>
          );
        })}
      </div>
    </div>
  );
}
