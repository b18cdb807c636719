/**
 * The Runs view's table, windowed: only the rows in view (and a few either side) are in the
 * DOM, each placed at its offset inside a body as tall as every row, so 100,000 runs scroll
 * as smoothly as 100. The header sticks to the top and scrolls sideways with the rows.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { StatusBadge } from '../components/RunList';
import { cellText, IColumn, isBest } from './columns';
import type { ITableRun } from './client';
import type { RunsTableModel } from './model';
import type { DisplayRow } from './rows';

export const ROW_HEIGHT = 28;
const OVERSCAN = 8;
const SELECT_WIDTH = 36;
const INDENT = 16;

export interface IRunsTableProps {
  model: RunsTableModel;
  trans: TranslationBundle;
  onOpen: (run: ITableRun) => void;
}

/** The first and last rows to draw for a scroll position and viewport height. */
export function windowOf(
  scrollTop: number,
  height: number,
  count: number
): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(
    count - 1,
    Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN
  );
  return [first, last];
}

export function RunsTable(props: IRunsTableProps): JSX.Element {
  const { model, trans } = props;
  const scroller = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(600);

  React.useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight));
    observer.observe(node);
    setHeight(node.clientHeight);
    return () => observer.disconnect();
  }, []);

  const columns = model.columns;
  const count = model.rows.count;
  const [first, last] = windowOf(scrollTop, height, count);

  // load the pages in view once the scrolling pauses (a fling past 50,000 rows asks nothing)
  React.useEffect(() => {
    const timer = setTimeout(() => model.ensureRows(first, last), 40);
    return () => clearTimeout(timer);
  }, [model, first, last, model.rows]);

  // a new search or order starts at the top
  const orderKey = JSON.stringify([model.search, model.order]);
  React.useEffect(() => {
    if (scroller.current) {
      scroller.current.scrollTop = 0;
    }
    setScrollTop(0);
  }, [orderKey]);

  const width =
    SELECT_WIDTH + columns.reduce((sum, column) => sum + column.width, 0);
  const loaded = model.rows.runsBetween(first, last);
  const allSelected =
    model.selected.size > 0 && loaded.every(r => model.selected.has(r.id));

  const rows: JSX.Element[] = [];
  for (let i = first; i <= last; i++) {
    rows.push(
      <Row
        key={i}
        index={i}
        row={model.rowAt(i)}
        columns={columns}
        {...props}
      />
    );
  }

  return (
    <div
      className="nbtrack-rv-scroll"
      ref={scroller}
      onScroll={e => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div
        className="nbtrack-rv-grid"
        role="table"
        aria-rowcount={count + 1}
        aria-label={trans.__('Runs')}
        style={{ width }}
      >
        <div className="nbtrack-rv-header" role="row" aria-rowindex={1}>
          <div
            className="nbtrack-rv-cell nbtrack-rv-select"
            role="columnheader"
            style={{ width: SELECT_WIDTH }}
          >
            <input
              type="checkbox"
              className="nbtrack-rv-select-all"
              checked={allSelected}
              aria-label={trans.__('Select all loaded runs')}
              title={trans.__('Select all loaded runs')}
              onChange={() => model.toggleAll()}
            />
          </div>
          {columns.map(column => (
            <HeaderCell
              key={column.id}
              column={column}
              model={model}
              trans={trans}
            />
          ))}
        </div>
        <div
          className="nbtrack-rv-body"
          role="rowgroup"
          style={{ height: count * ROW_HEIGHT }}
        >
          {rows}
        </div>
      </div>
    </div>
  );
}

function HeaderCell(props: {
  column: IColumn;
  model: RunsTableModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { column, model, trans } = props;
  const sorted = model.order?.column === column.id ? model.order : null;
  const groupLabels: Record<string, string> = {
    params: trans.__('param'),
    metrics: trans.__('metric'),
    tags: trans.__('tag')
  };
  return (
    <div
      className={`nbtrack-rv-cell nbtrack-rv-head nbtrack-rv-col-${column.group ?? column.id}`}
      role="columnheader"
      data-column={column.id}
      aria-sort={
        sorted ? (sorted.descending ? 'descending' : 'ascending') : undefined
      }
      style={{ width: column.width }}
    >
      <button
        className="nbtrack-rv-sort"
        title={trans.__('Sort by %1', column.id)}
        onClick={() => void model.sortBy(column)}
      >
        {column.group && (
          <span className="nbtrack-rv-group">{groupLabels[column.group]}</span>
        )}
        <span className="nbtrack-rv-label" title={column.label}>
          {column.label}
        </span>
        {sorted && (
          <span className="nbtrack-rv-arrow" aria-hidden="true">
            {sorted.descending ? '▼' : '▲'}
          </span>
        )}
      </button>
    </div>
  );
}

function Row(
  props: IRunsTableProps & {
    index: number;
    row: DisplayRow;
    columns: IColumn[];
  }
): JSX.Element {
  const { index, row, columns, model, trans } = props;
  const style: React.CSSProperties = {
    transform: `translateY(${index * ROW_HEIGHT}px)`,
    height: ROW_HEIGHT
  };
  if (row.kind === 'pending') {
    return (
      <div
        className="nbtrack-rv-row nbtrack-rv-pending"
        role="row"
        aria-rowindex={index + 2}
        style={style}
      >
        <div className="nbtrack-rv-cell" role="cell">
          …
        </div>
      </div>
    );
  }
  const { run, depth, top } = row;
  const selected = model.selected.has(run.id);
  const now = Date.now() / 1000;
  const click = (e: React.MouseEvent): void =>
    model.click(index, run.id, {
      shift: e.shiftKey,
      toggle: e.ctrlKey || e.metaKey
    });
  return (
    <div
      className={
        'nbtrack-rv-row' +
        (selected ? ' nbtrack-rv-selected' : '') +
        (depth ? ' nbtrack-rv-child' : '')
      }
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      data-run-id={run.id}
      style={style}
      onMouseDown={e => {
        if (e.shiftKey) {
          e.preventDefault(); // a Shift+click selects rows, not text
        }
      }}
      onClick={click}
    >
      <div
        className="nbtrack-rv-cell nbtrack-rv-select"
        role="cell"
        style={{ width: SELECT_WIDTH }}
      >
        <input
          type="checkbox"
          className="nbtrack-rv-check"
          checked={selected}
          aria-label={trans.__('Select %1', run.name)}
          onClick={e => {
            e.stopPropagation();
            model.click(index, run.id, { shift: e.shiftKey, toggle: true });
          }}
          onChange={() => undefined}
        />
      </div>
      {columns.map(column => {
        if (column.id === 'name') {
          return (
            <NameCell
              key="name"
              run={run}
              depth={depth}
              top={top}
              width={column.width}
              {...props}
            />
          );
        }
        const text = cellText(run, column, now);
        const best = isBest(run, column, model.best);
        return (
          <div
            key={column.id}
            className={
              `nbtrack-rv-cell nbtrack-rv-col-${column.group ?? column.id}` +
              (best ? ' nbtrack-rv-best' : '')
            }
            role="cell"
            data-column={column.id}
            title={
              best
                ? trans.__(
                    'Best %1 (%2)',
                    column.label,
                    model.best[column.label].lower_is_better
                      ? trans.__('lowest')
                      : trans.__('highest')
                  )
                : column.id === 'run_id'
                  ? run.id
                  : text
            }
            style={{ width: column.width }}
          >
            {column.id === 'status' ? (
              <StatusBadge status={run.status} trans={trans} />
            ) : (
              text
            )}
          </div>
        );
      })}
    </div>
  );
}

function NameCell(
  props: IRunsTableProps & {
    run: ITableRun;
    depth: number;
    top: number | null;
    width: number;
  }
): JSX.Element {
  const { run, depth, top, width, model, trans } = props;
  const expanded = model.isExpanded(run.id);
  return (
    <div
      className="nbtrack-rv-cell nbtrack-rv-col-name"
      role="cell"
      data-column="name"
      style={{ width, paddingLeft: 4 + depth * INDENT }}
    >
      {run.children > 0 ? (
        <button
          className="nbtrack-rv-expander"
          aria-expanded={expanded}
          title={
            expanded
              ? trans.__('Fold the %1 child runs', run.children)
              : trans.__('Show the %1 child runs', run.children)
          }
          onClick={e => {
            e.stopPropagation();
            void model.toggle(run, top);
          }}
        >
          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
          <span className="nbtrack-rv-child-count">{run.children}</span>
        </button>
      ) : (
        <span className="nbtrack-rv-expander-space" />
      )}
      <button
        className="nbtrack-rv-name"
        title={trans.__('Open %1', run.name)}
        onClick={e => {
          if (e.ctrlKey || e.metaKey || e.shiftKey) {
            return; // the row's click selects
          }
          e.stopPropagation();
          props.onOpen(run);
        }}
      >
        {run.name}
      </button>
    </div>
  );
}
