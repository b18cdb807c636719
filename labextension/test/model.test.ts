import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  chartGeometry,
  firstLine,
  formatMetric,
  formatSeconds,
  groupByExperiment,
  keyMetrics,
  mergeRuns,
  parseTag,
  refreshDelay,
  runDuration,
  sameRuns,
  toNumber
} from '../src/model';
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

describe('formatting', () => {
  it('shows metrics compactly, including NaN and infinities sent as strings', () => {
    assert.equal(formatMetric(0.123456), '0.1235');
    assert.equal(formatMetric(42), '42');
    assert.equal(formatMetric('NaN'), 'NaN');
    assert.equal(formatMetric('Infinity'), '∞');
    assert.equal(formatMetric('-Infinity'), '−∞');
    assert.equal(formatMetric(0.00001234), '1.23e-5');
    assert.ok(Number.isNaN(toNumber(null)));
  });

  it('shows durations from milliseconds to hours', () => {
    assert.equal(formatSeconds(0.25), '250 ms');
    assert.equal(formatSeconds(3.21), '3.2 s');
    assert.equal(formatSeconds(65), '1 min 05 s');
    assert.equal(formatSeconds(7500), '2 h 05 min');
    assert.equal(formatSeconds(-1), '–');
  });

  it('counts a running run up to now and shows no duration for a killed one without end', () => {
    assert.equal(
      runDuration({ start_time: 100, end_time: null, status: 'running' }, 112),
      '12 s'
    );
    assert.equal(
      runDuration({ start_time: 100, end_time: null, status: 'killed' }, 112),
      '–'
    );
  });

  it('takes the first non-blank line of a cell', () => {
    assert.equal(firstLine('\n\n  x = 1\ny = 2'), '  x = 1');
    assert.equal(firstLine('a'.repeat(100), 10), 'aaaaaaaaa…');
  });

  it('parses key=value tags and explains a bad one', () => {
    assert.deepEqual(parseTag(' owner = ana=b '), {
      key: 'owner',
      value: 'ana=b'
    });
    assert.ok('error' in parseTag('novalue'));
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

describe('chart geometry', () => {
  it('scales points into the box and breaks the line at NaN', () => {
    const geo = chartGeometry(
      [
        { step: 0, value: 1 },
        { step: 1, value: 'NaN' },
        { step: 2, value: 3 },
        { step: 4, value: 2 }
      ],
      100,
      50,
      0
    );
    assert.equal(geo.path, 'M0 50 M50 0 L100 25');
    assert.deepEqual([geo.xMin, geo.xMax, geo.yMin, geo.yMax], [0, 4, 1, 3]);
    assert.equal(geo.dots.length, 3);
  });

  it('centres a single point and draws nothing without finite values', () => {
    const one = chartGeometry([{ step: 5, value: 0.93 }], 100, 50);
    assert.equal(one.path, 'M50 25');
    assert.equal(chartGeometry([{ step: 0, value: 'NaN' }], 100, 50).path, '');
  });
});
