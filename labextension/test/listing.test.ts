import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  groupByExperiment,
  keyMetrics,
  mergeRuns,
  refreshDelay,
  sameRuns
} from '../src/listing';
import type { IRunSummary } from '../src/tokens';

function run(
  id: string,
  experiment: string,
  extra: Partial<IRunSummary> = {}
): IRunSummary {
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
    ...extra
  };
}

describe('grouping and paging', () => {
  it('groups by experiment in order of each group newest run, keeping run order', () => {
    const groups = groupByExperiment([
      run('a', 'x'),
      run('b', 'y'),
      run('c', 'x')
    ]);
    assert.deepEqual(
      groups.map(g => [g.experiment, g.runs.map(r => r.id)]),
      [
        ['x', ['a', 'c']],
        ['y', ['b']]
      ]
    );
  });

  it('appends a page without repeating a run that moved between pages', () => {
    const merged = mergeRuns(
      [run('a', 'x'), run('b', 'x')],
      [run('b', 'x'), run('c', 'x')]
    );
    assert.deepEqual(
      merged.map(r => r.id),
      ['a', 'b', 'c']
    );
  });

  it('tells an unchanged refresh from a changed one', () => {
    assert.ok(sameRuns([run('a', 'x')], [run('a', 'x')]));
    assert.ok(
      !sameRuns([run('a', 'x')], [run('a', 'x', { status: 'running' })])
    );
  });
});

describe('key metrics', () => {
  const r = run('a', 'x', {
    metrics: { loss: 0.1, acc: 0.9, 'system/cpu': 50, f1: 0.5, zeta: 1 }
  });

  it('puts preferred metrics first, then the rest alphabetically, without system metrics', () => {
    assert.deepEqual(
      keyMetrics(r, 3, ['loss']).map(([k]) => k),
      ['loss', 'acc', 'f1']
    );
    assert.deepEqual(keyMetrics(r, 0), []);
  });
});

describe('live refresh', () => {
  it('polls quickly while a run is active and slowly otherwise', () => {
    assert.equal(
      refreshDelay([{ status: 'finished' }, { status: 'running' }], 2, 10),
      2000
    );
    assert.equal(refreshDelay([{ status: 'finished' }], 2, 10), 10000);
    assert.equal(refreshDelay([], 0, 0), 500);
  });
});
