import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { groupByExperiment, paramsText, visibleRows } from '../src/listing';
import type { IRunSummary } from '../src/tokens';

function run(id: string, depth: number, experiment = 'e'): IRunSummary {
  return {
    id,
    name: id,
    experiment,
    status: 'finished',
    start_time: 1000,
    end_time: 1060,
    duration: 60,
    user: null,
    notes: null,
    params: {},
    metrics: {},
    tags: {},
    deleted_at: null,
    parent_run_id: null,
    replay_of: null,
    reproduced: null,
    notebook_path: null,
    depth
  };
}

// a replay with two re-run cells (one holding a run of its own), then a plain run
const RUNS = [
  run('replay', 0),
  run('c1', 1),
  run('f1', 2),
  run('c2', 1),
  run('plain', 0)
];

describe('visibleRows', () => {
  it('folds nested runs under their parent by default, counting all of them', () => {
    const rows = visibleRows(RUNS, new Set());
    assert.deepEqual(
      rows.map(r => [r.run.id, r.depth, r.nested]),
      [
        ['replay', 0, 3],
        ['plain', 0, 0]
      ]
    );
  });

  it('shows the children of an expanded run, their own children still folded', () => {
    const rows = visibleRows(RUNS, new Set(['replay']));
    assert.deepEqual(
      rows.map(r => r.run.id),
      ['replay', 'c1', 'c2', 'plain']
    );
    const all = visibleRows(RUNS, new Set(['replay', 'c1']));
    assert.deepEqual(
      all.map(r => r.run.id),
      ['replay', 'c1', 'f1', 'c2', 'plain']
    );
  });
});

describe('groupByExperiment with nesting', () => {
  it('keeps a nested run of another experiment with its parent', () => {
    const groups = groupByExperiment([
      run('p', 0, 'a'),
      run('k', 1, 'b'),
      run('q', 0, 'b')
    ]);
    assert.deepEqual(
      groups.map(g => [g.experiment, g.runs.map(r => r.id)]),
      [
        ['a', ['p', 'k']],
        ['b', ['q']]
      ]
    );
  });
});

describe('paramsText', () => {
  it('lists params by name so same-named runs differ', () => {
    assert.equal(
      paramsText({ params: { epochs: '5', alpha: '0.01' } }),
      'alpha=0.01 · epochs=5'
    );
    assert.equal(paramsText({ params: {} }), '');
  });
});
