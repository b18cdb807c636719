import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import type { Requester } from '../src/api';
import { ITableRun, RunsTableClient } from '../src/runsview/client';
import {
  cellText,
  columnsOf,
  defaultColumns,
  isBest,
  keyColumn,
  loadColumns,
  nextOrder,
  orderBy,
  quoteKey,
  saveColumns,
  storageKey
} from '../src/runsview/columns';
import { RunsTableModel } from '../src/runsview/model';
import { clickSelect, RowIndex, subtree } from '../src/runsview/rows';

function run(id: string, extra: Partial<ITableRun> = {}): ITableRun {
  return {
    id,
    name: `run-${id}`,
    experiment: 'e',
    status: 'finished',
    start_time: 1_780_000_000,
    end_time: 1_780_000_010,
    duration: 10,
    user: 'ana',
    notes: null,
    params: {},
    metrics: {},
    tags: {},
    deleted_at: null,
    parent_run_id: null,
    replay_of: null,
    reproduced: null,
    notebook_path: null,
    children: 0,
    ...extra
  };
}

class MemoryStorage {
  items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('Runs view columns', () => {
  it('sorts a key column by its order_by identifier, quoting odd keys', () => {
    assert.equal(quoteKey('val_acc'), 'val_acc');
    assert.equal(quoteKey('val acc'), '`val acc`');
    const acc = keyColumn('metrics.acc')!;
    const first = nextOrder(null, acc);
    assert.deepEqual(first, { column: 'metrics.acc', descending: true });
    assert.deepEqual(orderBy(first, columnsOf(['metrics.acc'])), [
      'metrics.acc DESC'
    ]);
    const again = nextOrder(first, acc);
    assert.deepEqual(orderBy(again, columnsOf(['metrics.acc'])), [
      'metrics.acc ASC'
    ]);
    const name = columnsOf([])[0];
    assert.deepEqual(orderBy(nextOrder(again, name), columnsOf([])), [
      'attributes.run_name ASC'
    ]);
    assert.deepEqual(
      orderBy(
        nextOrder(null, keyColumn('params.a b')!),
        columnsOf(['params.a b'])
      ),
      ['params.`a b` ASC']
    );
    assert.equal(keyColumn('bogus.x'), null);
  });

  it('starts with metrics (not system ones) and a few params', () => {
    assert.deepEqual(
      defaultColumns({
        params: ['a', 'b', 'c', 'd'],
        metrics: ['acc', 'system/cpu', 'loss'],
        tags: ['t']
      }),
      ['metrics.acc', 'metrics.loss', 'params.a', 'params.b', 'params.c']
    );
  });

  it('writes cells and marks the best value the server named', () => {
    const r = run('a', {
      metrics: { acc: 0.9, loss: 'NaN' },
      params: { lr: '0.1' }
    });
    const [acc, loss, lr] = ['metrics.acc', 'metrics.loss', 'params.lr'].map(
      id => keyColumn(id)!
    );
    assert.equal(cellText(r, acc, 0), '0.9');
    assert.equal(cellText(r, lr, 0), '0.1');
    assert.equal(cellText(r, keyColumn('params.none')!, 0), '');
    assert.equal(cellText(r, columnsOf([])[6], 0), 'a');
    const best = {
      acc: { value: 0.9, lower_is_better: false },
      loss: { value: 'NaN' as const, lower_is_better: true }
    };
    assert.equal(isBest(r, acc, best), true);
    assert.equal(isBest(r, loss, best), false); // NaN is never best
    assert.equal(isBest(r, lr, best), false);
  });

  it('remembers the chosen columns per store and experiment', () => {
    const storage = new MemoryStorage();
    const key = storageKey('/s', 'exp');
    assert.equal(loadColumns(storage, key), null);
    saveColumns(storage, key, ['metrics.acc']);
    assert.deepEqual(loadColumns(storage, key), ['metrics.acc']);
    assert.equal(loadColumns(storage, storageKey('/s', '')), null);
    storage.setItem(key, '{"not": "a list"}');
    assert.equal(loadColumns(storage, key), null);
  });
});

describe('Runs view rows', () => {
  const top = [run('p', { children: 2 }), undefined, run('q')];
  const kids = new Map([
    ['p', [run('c1', { children: 1 }), run('c2')]],
    ['c1', [run('g1')]]
  ]);
  const childrenOf = (id: string) => kids.get(id) ?? null;

  it('splices the children of an expanded parent after it', () => {
    const expanded = new Set(['p']);
    const rows = new RowIndex(
      3,
      top,
      new Map([[0, subtree('p', 1, childrenOf, expanded)]])
    );
    assert.equal(rows.count, 5);
    const ids = [0, 1, 2, 3, 4].map(i => {
      const r = rows.rowAt(i);
      return r.kind === 'run' ? `${r.run.id}@${r.depth}` : `pending ${r.top}`;
    });
    assert.deepEqual(ids, ['p@0', 'c1@1', 'c2@1', 'pending 1', 'q@0']);
    assert.deepEqual(rows.missing(0, 10), [1]);
  });

  it('nests grandchildren when their parent is expanded too', () => {
    const expanded = new Set(['p', 'c1']);
    const rows = subtree('p', 1, childrenOf, expanded);
    assert.deepEqual(
      rows.map(r => (r.kind === 'run' ? `${r.run.id}@${r.depth}` : '')),
      ['c1@1', 'g1@2', 'c2@1']
    );
  });

  it('selects as a file browser: click, Ctrl+click, Shift+click', () => {
    const rows = new RowIndex(3, [run('a'), run('b'), run('c')], new Map());
    let s = clickSelect(
      new Set(),
      null,
      0,
      'a',
      { shift: false, toggle: false },
      rows
    );
    assert.deepEqual([...s.selected], ['a']);
    s = clickSelect(
      s.selected,
      s.anchor,
      2,
      'c',
      { shift: true, toggle: false },
      rows
    );
    assert.deepEqual([...s.selected].sort(), ['a', 'b', 'c']);
    s = clickSelect(
      s.selected,
      s.anchor,
      1,
      'b',
      { shift: false, toggle: true },
      rows
    );
    assert.deepEqual([...s.selected].sort(), ['a', 'c']);
    s = clickSelect(
      s.selected,
      s.anchor,
      2,
      'c',
      { shift: false, toggle: false },
      rows
    );
    assert.deepEqual([...s.selected], ['c']);
  });
});

describe('Runs view model against a real HTTP server', () => {
  let server: Server;
  let base = '';
  const urls: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      urls.push(req.url ?? '');
      const url = new URL(req.url ?? '', 'http://x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (url.pathname.endsWith('/filter/check')) {
        const bad = url.searchParams.get('filter') === 'acc >';
        res.end(
          JSON.stringify(
            bad ? { ok: false, message: 'expected a value' } : { ok: true }
          )
        );
      } else if (url.pathname.endsWith('/keys')) {
        res.end(JSON.stringify({ params: ['lr'], metrics: ['acc'], tags: [] }));
      } else if (url.pathname.endsWith('/best')) {
        res.end(
          JSON.stringify({
            best: { acc: { value: 0.9, lower_is_better: false } }
          })
        );
      } else {
        const offset = Number(url.searchParams.get('offset'));
        res.end(
          JSON.stringify({
            total: url.searchParams.get('count') === '0' ? null : 250,
            offset,
            runs: [run(`r${offset}`)],
            store: '/s'
          })
        );
      }
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/nbtrack/api`;
  });
  after(() => new Promise<void>(resolve => server.close(() => resolve())));

  it('reads the first page with its count, then sorts without recounting', async () => {
    const requester: Requester = (path, init) => fetch(`${base}/${path}`, init);
    const storage = new MemoryStorage();
    const model = new RunsTableModel(new RunsTableClient(requester), storage);
    await model.start();
    assert.equal(model.total, 250);
    assert.deepEqual(model.chosen, ['metrics.acc', 'params.lr']);
    assert.equal(model.rows.count, 250);
    model.setColumns(['metrics.acc']);
    assert.deepEqual(loadColumns(storage, storageKey('/s', '')), [
      'metrics.acc'
    ]);
    await model.sortBy(keyColumn('metrics.acc')!);
    const sorted = new URL(urls[urls.length - 1], 'http://x');
    assert.equal(sorted.searchParams.get('order_by'), 'metrics.acc DESC');
    assert.equal(sorted.searchParams.get('count'), '0');
    assert.equal(model.total, 250);
  });

  it('checks a filter first and never lists a bad one', async () => {
    const requester: Requester = (path, init) => fetch(`${base}/${path}`, init);
    const model = new RunsTableModel(new RunsTableClient(requester), null);
    await model.start();
    urls.length = 0;
    await model.setFilter('acc >');
    assert.equal(model.filterError, 'expected a value');
    assert.equal(model.total, 0);
    const paths = urls.map(
      u => new URL(u, 'http://x').pathname.split('/api/')[1]
    );
    assert.ok(paths.includes('filter/check'));
    assert.ok(!paths.includes('runs/table'), paths.join(' ')); // never listed
    await model.setFilter('sgd');
    assert.equal(model.filterError, '');
    assert.ok(
      urls.some(u => u.includes('runs/table') && u.includes('filter=sgd'))
    );
  });
});
