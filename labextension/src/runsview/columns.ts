/**
 * The Runs view's columns: the fixed ones, the chosen param/metric/tag ones, how each sorts on
 * the server (`order_by`), reads as text, and is remembered per experiment. No DOM here.
 */
import { formatMetric, formatSeconds, toNumber } from '../format';
import type { IBestValue, IColumnKeys, ITableRun } from './client';

export type KeyGroup = 'params' | 'metrics' | 'tags';

export interface IColumn {
  /** `name`, `status`, ... or `params.KEY`, `metrics.KEY`, `tags.KEY` (also the CSV header). */
  id: string;
  label: string;
  /** The group of a key column; null for a fixed column. */
  group: KeyGroup | null;
  /** The `order_by` identifier that sorts by this column. */
  orderKey: string;
  width: number;
}

export const BASE_COLUMNS: IColumn[] = [
  base('name', 'Run name', 'attributes.run_name', 220),
  base('status', 'Status', 'attributes.status', 92),
  base('start', 'Started', 'attributes.start_time', 168),
  base('duration', 'Duration', 'attributes.duration', 96),
  base('user', 'User', 'attributes.user', 100),
  base('experiment', 'Experiment', 'attributes.experiment', 120),
  base('run_id', 'Run ID', 'attributes.run_id', 92)
];

function base(id: string, label: string, orderKey: string, width: number) {
  return { id, label, group: null, orderKey, width };
}

/** A key as the filter language names it: bare, or in backticks when it has other characters. */
export function quoteKey(key: string): string {
  return /^[A-Za-z_][\w/.-]*$/.test(key) && !key.includes('..')
    ? key
    : '`' + key.replace(/`/g, '``') + '`';
}

/** The column of `params.KEY`, `metrics.KEY` or `tags.KEY`; null for anything else. */
export function keyColumn(id: string): IColumn | null {
  const dot = id.indexOf('.');
  const group = id.slice(0, dot) as KeyGroup;
  const key = id.slice(dot + 1);
  if (dot < 0 || !key || !['params', 'metrics', 'tags'].includes(group)) {
    return null;
  }
  return {
    id,
    label: key,
    group,
    orderKey: `${group}.${quoteKey(key)}`,
    width: 120
  };
}

/** The shown columns: the fixed ones, then the chosen key columns in the order chosen. */
export function columnsOf(chosen: string[]): IColumn[] {
  const keys = chosen.map(keyColumn).filter((c): c is IColumn => c !== null);
  return BASE_COLUMNS.concat(keys);
}

/** What a fresh view shows: up to four metrics (not `system/*`) and three params. */
export function defaultColumns(keys: IColumnKeys): string[] {
  const metrics = keys.metrics
    .filter(k => !k.startsWith('system/'))
    .slice(0, 4);
  return metrics
    .map(k => `metrics.${k}`)
    .concat(keys.params.slice(0, 3).map(k => `params.${k}`));
}

export interface IOrder {
  column: string;
  descending: boolean;
}

/** The order after a click on `column`'s header: the other direction when it already sorts,
 * else descending for numbers and times, ascending for text. */
export function nextOrder(current: IOrder | null, column: IColumn): IOrder {
  if (current && current.column === column.id) {
    return { column: column.id, descending: !current.descending };
  }
  const numeric =
    column.group === 'metrics' ||
    column.id === 'start' ||
    column.id === 'duration';
  return { column: column.id, descending: numeric };
}

/** The `order_by` of an order (the server's default, newest first, for none). */
export function orderBy(order: IOrder | null, columns: IColumn[]): string[] {
  if (!order) {
    return [];
  }
  const column =
    columns.find(c => c.id === order.column) ?? keyColumn(order.column);
  return column
    ? [`${column.orderKey} ${order.descending ? 'DESC' : 'ASC'}`]
    : [];
}

/** `2026-12-03 01:04:05`, local time. */
export function formatStart(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** A cell as text ('' when the run lacks the key). */
export function cellText(run: ITableRun, column: IColumn, now: number): string {
  switch (column.id) {
    case 'name':
      return run.name;
    case 'status':
      return run.status;
    case 'start':
      return formatStart(run.start_time);
    case 'duration':
      return run.duration !== null
        ? formatSeconds(run.duration)
        : run.status === 'running'
          ? formatSeconds(now - run.start_time)
          : '';
    case 'user':
      return run.user ?? '';
    case 'experiment':
      return run.experiment;
    case 'run_id':
      return run.id.slice(0, 8);
  }
  const key = column.label;
  if (column.group === 'metrics') {
    const value = run.metrics[key];
    return value === undefined ? '' : formatMetric(value);
  }
  if (column.group === 'params') {
    return run.params[key] ?? '';
  }
  if (column.group === 'tags') {
    return run.tags[key] ?? '';
  }
  return '';
}

/** Whether the run holds the best value of a metric column (the server says which is best). */
export function isBest(
  run: ITableRun,
  column: IColumn,
  best: Record<string, IBestValue>
): boolean {
  if (column.group !== 'metrics') {
    return false;
  }
  const b = best[column.label];
  const value = run.metrics[column.label];
  return (
    b !== undefined &&
    value !== undefined &&
    toNumber(value) === toNumber(b.value) &&
    Number.isFinite(toNumber(value))
  );
}

/** Where the chosen columns of an experiment ('' for all) are remembered. */
export function storageKey(store: string, experiment: string): string {
  return `nbtrack:runs-view:columns:${store}:${experiment || '*'}`;
}

/** The remembered columns, or null when none were (or the record is not a list of ids). */
export function loadColumns(
  storage: Pick<Storage, 'getItem'>,
  key: string
): string[] | null {
  try {
    const value = JSON.parse(storage.getItem(key) ?? 'null') as unknown;
    return Array.isArray(value) && value.every(v => typeof v === 'string')
      ? (value as string[])
      : null;
  } catch {
    return null;
  }
}

export function saveColumns(
  storage: Pick<Storage, 'setItem'>,
  key: string,
  columns: string[]
): void {
  try {
    storage.setItem(key, JSON.stringify(columns));
  } catch {
    // storage full or denied: the choice lasts this session only
  }
}
