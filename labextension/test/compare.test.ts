import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  canCompare,
  cellLabel,
  compareSections,
  diffCells,
  diffSummary,
  diffView,
  identicalCount,
  keepListed,
  metricCell,
  selectRun
} from '../src/compare';
import type { ICodeDiff, IComparison } from '../src/tokens';

const LISTED = ['r1', 'r2', 'r3', 'r4', 'r5'];

describe('selecting runs to compare', () => {
  it('toggles a run in and out, keeping the order they were picked', () => {
    let selected = selectRun([], 'r3', LISTED);
    selected = selectRun(selected, 'r1', LISTED);
    assert.deepEqual(selected, ['r3', 'r1']);
    assert.deepEqual(selectRun(selected, 'r3', LISTED), ['r1']);
  });

  it('adds every listed run between the anchor and a shift-clicked run', () => {
    assert.deepEqual(selectRun(['r2'], 'r4', LISTED, true, 'r2'), [
      'r2',
      'r3',
      'r4'
    ]);
    // upwards, with one of them already picked
    assert.deepEqual(selectRun(['r5', 'r3'], 'r2', LISTED, true, 'r5'), [
      'r5',
      'r3',
      'r2',
      'r4'
    ]);
  });

  it('toggles when a range has no anchor in the list', () => {
    assert.deepEqual(selectRun([], 'r2', LISTED, true, null), ['r2']);
    assert.deepEqual(selectRun([], 'r2', LISTED, true, 'gone'), ['r2']);
  });

  it('forgets runs no longer listed, and keeps the same array when nothing changed', () => {
    const selected = ['r1', 'r9', 'r2'];
    assert.deepEqual(keepListed(selected, LISTED), ['r1', 'r2']);
    const same = ['r1', 'r2'];
    assert.equal(keepListed(same, LISTED), same);
  });

  it('can compare two or more different runs only', () => {
    assert.equal(canCompare([]), false);
    assert.equal(canCompare(['r1']), false);
    assert.equal(canCompare(['r1', 'r1']), false);
    assert.equal(canCompare(['r1', 'r2']), true);
  });
});

const DATA: IComparison = {
  runs: [
    {
      id: 'a',
      name: 'A',
      experiment: 'e',
      status: 'finished',
      start_time: null
    },
    { id: 'b', name: 'B', experiment: 'e', status: 'failed', start_time: null }
  ],
  params: [
    { key: 'lr', values: ['0.1', '0.2'], same: false },
    { key: 'seed', values: ['1', '1'], same: true },
    { key: 'only_b', values: [null, 'x'], same: false }
  ],
  metrics: [
    {
      key: 'acc',
      values: [{ min: 0.5, max: 0.7, last: 0.7 }, null],
      same: false
    },
    {
      key: 'n',
      values: [
        { min: 1, max: 1, last: 1 },
        { min: 1, max: 1, last: 1 }
      ],
      same: true
    }
  ],
  tags: [{ key: 'owner', values: ['ana', 'ana'], same: true }],
  code: []
};

describe('the comparison table', () => {
  it('shows the differing rows and counts the identical ones it hides', () => {
    const [params, metrics, tags] = compareSections(DATA, false);
    assert.deepEqual(
      params.rows.map(r => r.key),
      ['lr', 'only_b']
    );
    assert.equal(params.hidden, 1);
    assert.deepEqual(
      params.rows[1].cells.map(c => [c.text, c.missing]),
      [
        ['–', true],
        ['x', false]
      ]
    );
    assert.deepEqual(
      metrics.rows.map(r => r.key),
      ['acc']
    );
    assert.equal(metrics.hidden, 1);
    assert.deepEqual(tags.rows, []);
    assert.equal(tags.hidden, 1);
    assert.equal(identicalCount(DATA), 3);
  });

  it('shows identical rows too when asked, marked as the same', () => {
    const sections = compareSections(DATA, true);
    assert.deepEqual(
      sections.map(s => [s.kind, s.rows.length, s.hidden]),
      [
        ['params', 3, 0],
        ['metrics', 2, 0],
        ['tags', 1, 0]
      ]
    );
    assert.equal(sections[2].rows[0].same, true);
  });

  it('shows a metric as its last value with its range, NaN as text', () => {
    assert.deepEqual(metricCell({ min: 0.5, max: 'NaN', last: 0.25 }), {
      text: '0.25',
      detail: '0.5 … NaN',
      missing: false
    });
    assert.equal(metricCell(null).missing, true);
  });
});

const DIFF: ICodeDiff = {
  a: 'a',
  b: 'b',
  cells: [
    {
      kind: 'same',
      a: { index: 0, execution_count: 1, in_run: false },
      b: { index: 0, execution_count: 1, in_run: false },
      lines: []
    },
    {
      kind: 'changed',
      a: { index: 1, execution_count: 2, in_run: true },
      b: { index: 1, execution_count: 5, in_run: true },
      lines: [
        { op: '-', text: 'y = 2' },
        { op: '+', text: 'y = 3' }
      ]
    },
    {
      kind: 'added',
      a: null,
      b: { index: 2, execution_count: null, in_run: true },
      lines: [{ op: '+', text: 'z = 1' }]
    }
  ]
};

describe('the code diff', () => {
  it('counts cells by kind and lists the differing ones unless asked for all', () => {
    assert.deepEqual(diffSummary(DIFF), {
      same: 1,
      changed: 1,
      added: 1,
      removed: 0
    });
    assert.deepEqual(
      diffCells(DIFF, false).map(c => c.kind),
      ['changed', 'added']
    );
    assert.equal(diffCells(DIFF, true).length, 3);
  });

  it('labels a cell by its place in each run and the execution count', () => {
    assert.equal(cellLabel(DIFF.cells[1]), '#2 → #2 [5]');
    assert.equal(cellLabel(DIFF.cells[2]), '#3');
  });
});

describe('the code diff of two runs in the Compare view', () => {
  const bodies: ICodeDiff = {
    ...DIFF,
    cells: [DIFF.cells[1]],
    history: DIFF.cells
  };

  it('shows the bodies by default, the whole history when asked', () => {
    const own = diffView(bodies, false);
    assert.deepEqual(own.counts, { same: 0, changed: 1, added: 0, removed: 0 });
    assert.deepEqual(
      own.cells.map(c => c.kind),
      ['changed']
    );
    assert.equal(own.hasHistory, true);
    const whole = diffView(bodies, true);
    assert.deepEqual(
      whole.cells.map(c => c.kind),
      ['changed', 'added']
    );
    assert.equal(whole.same, 1);
  });

  it('offers no history the server did not send', () => {
    assert.equal(diffView(DIFF, true).hasHistory, false);
    assert.equal(diffView(DIFF, true).cells.length, 2);
  });
});
