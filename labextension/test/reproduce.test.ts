import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  cellExcerpt,
  failingCell,
  runFailure,
  importedText,
  installedCount,
  nextProgress,
  recordedCells,
  recordedHeader,
  replayEnded,
  startReplay,
  unmatchedText,
  variableChanges,
  verdictOf
} from '../src/reproduce';
import type {
  ICellRecord,
  IRecordedNotebook,
  IRunDetail,
  ReplayEvent
} from '../src/tokens';

function cell(
  seq: number,
  count: number | null,
  status: 'ok' | 'error' = 'ok'
): ICellRecord {
  return {
    index: seq,
    seq,
    execution_count: count,
    cell_id: null,
    source: `x = ${seq}`,
    status,
    error: status === 'error' ? { type: 'ValueError', message: 'bad' } : null,
    in_run: true,
    start_time: 0,
    end_time: 0,
    created: [],
    changed: [],
    deleted: [],
    state: {}
  };
}

function run(cells: ICellRecord[], failureCount: number | null): IRunDetail {
  return {
    cells,
    failure: {
      type: 'ZeroDivisionError',
      message: 'division by zero',
      line: 'x = 1 / 0',
      lineno: 3,
      execution_count: failureCount
    }
  } as IRunDetail;
}

describe('failingCell', () => {
  it('finds the cell by the failure’s execution count', () => {
    // Given a run whose cell [7] raised, after an earlier failing cell [5]
    const cells = [cell(1, 5, 'error'), cell(2, 6), cell(3, 7, 'error')];
    // Then the banner points at [7]
    assert.equal(failingCell(run(cells, 7))?.seq, 3);
  });

  it('falls back to the last cell that raised when the count is unknown', () => {
    const cells = [cell(1, 5, 'error'), cell(2, 6, 'error'), cell(3, 7)];
    assert.equal(failingCell(run(cells, null))?.seq, 2);
    assert.equal(failingCell(run([cell(1, 1)], 99)), null);
  });
});

describe('runFailure', () => {
  it('takes the error of the failing cell when the run kept no failure', () => {
    // Given a failed run recorded before failures were stored on the run
    const old = {
      status: 'failed',
      failure: null,
      cells: [cell(1, 4), cell(2, 5, 'error')]
    } as unknown as IRunDetail;
    // Then the banner still names the exception and its cell
    assert.deepEqual(runFailure(old), {
      type: 'ValueError',
      message: 'bad',
      line: null,
      lineno: null,
      execution_count: 5
    });
    // and a finished run has none, even with a cell that raised (and was caught by the user)
    assert.equal(
      runFailure({ ...old, status: 'finished' } as IRunDetail),
      null
    );
  });

  it('prefers the failure the run recorded', () => {
    assert.equal(runFailure(run([cell(1, 3, 'error')], 3))?.line, 'x = 1 / 0');
  });
});

describe('replay progress', () => {
  it('folds environment phases, cells and the verdict in order', () => {
    // Given a reproduce in the recorded environment
    const events: ReplayEvent[] = [
      { event: 'env', phase: 'resolve', done: null, total: null, text: '' },
      { event: 'env', phase: 'install', done: 2, total: 5, text: 'six==1.16' },
      { event: 'progress', done: 1, total: 3 },
      { event: 'note', kind: 'environment', text: 'python 3.11 vs 3.12' },
      { event: 'note', kind: 'environment_all', text: '91 lines' },
      {
        event: 'result',
        report: { reproduced: true, cells_total: 3, cells_matched: 3 }
      }
    ];
    let p = startReplay('recorded');
    const seen: string[] = [];
    for (const e of events) {
      p = nextProgress(p, e);
      seen.push(
        `${p.envStep?.phase ?? '-'} ${p.envStep?.done ?? '-'}/${p.envStep?.total ?? '-'} cells ${p.cells?.done ?? '-'} ended ${replayEnded(p)}`
      );
    }
    // Then each step is shown as it arrives and the replay ends with the verdict
    assert.deepEqual(seen, [
      'resolve -/- cells - ended false',
      'install 2/5 cells - ended false',
      'install 2/5 cells 1 ended false',
      'install 2/5 cells 1 ended false',
      'install 2/5 cells 1 ended false',
      'install 2/5 cells 1 ended true'
    ]);
    assert.deepEqual(p.notes, ['python 3.11 vs 3.12']);
    assert.deepEqual(p.allDifferences, ['91 lines']);
    assert.equal(p.env, 'recorded');
  });

  it('ends with the error of a failed replay', () => {
    const p = nextProgress(startReplay('current'), {
      event: 'error',
      message: 'no kernel'
    });
    assert.equal(p.error, 'no kernel');
    assert.ok(replayEnded(p));
  });
});

describe('verdictOf', () => {
  it('names the first diverging cell and keeps the others apart', () => {
    const v = verdictOf({
      reproduced: false,
      cells_total: 4,
      cells_matched: 2,
      divergences: [
        {
          index: 3,
          execution_count: 9,
          source: 'y = time.time()',
          variables: {
            y: { recorded: 'a', replayed: 'b' },
            z: { recorded: null, replayed: 'c' }
          },
          causes: ['reads the network or the clock']
        },
        { index: 4, execution_count: 10, source: 'w = y', variables: {} }
      ]
    });
    assert.equal(v.reproduced, false);
    assert.equal(v.first?.execution_count, 9);
    assert.equal(v.then.length, 1);
    assert.deepEqual(variableChanges(v.first!), ['y differs', 'z appeared']);
  });

  it('shows a diverging cell by its code, not its magic line', () => {
    const src =
      '%%track --name a\nimport time\n\nt = time.time()\nu = 1\nv = 2';
    assert.equal(cellExcerpt(src), 'import time\nt = time.time()\nu = 1\n…');
    assert.equal(cellExcerpt('x = 1', 3), 'x = 1');
  });

  it('reads an empty report as nothing reproduced', () => {
    assert.deepEqual(verdictOf({}), {
      reproduced: false,
      matched: 0,
      total: 0,
      unverified: 0,
      first: null,
      then: []
    });
  });

  it('writes what could not be matched and what the cells import as lines', () => {
    const env = {
      mode: 'recorded' as const,
      cached: true,
      python: '3.12.1',
      installed: { idna: '3.6', pip: '24.0' },
      unmatched: [
        {
          name: 'python',
          recorded: '3.11.4',
          reason: 'this machine has 3.12.1'
        },
        { name: 'mylib', recorded: null, reason: 'a local package' },
        'plain text'
      ],
      imported: { idna: '3.6', gone: null }
    };
    assert.deepEqual(env.unmatched.map(unmatchedText), [
      'python 3.11.4: this machine has 3.12.1',
      'mylib: a local package',
      'plain text'
    ]);
    assert.equal(importedText(env), 'idna 3.6, gone (missing)');
    assert.equal(installedCount(env), 2);
  });

  it('counts installed packages given as names or as a number', () => {
    const env = {
      mode: 'recorded' as const,
      cached: false,
      python: '3.12.1',
      unmatched: []
    };
    assert.equal(installedCount({ ...env, installed: ['a', 'b'] }), 2);
    assert.equal(installedCount({ ...env, installed: 7 }), 7);
    assert.equal(installedCount({ ...env, installed: null }), null);
  });
});

describe('the notebook as recorded', () => {
  const nb: IRecordedNotebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      nbtrack: {
        as_recorded: true,
        run_id: 'abc123',
        run_name: 'fit',
        recorded_at: '2026-12-03T00:10:00Z',
        revision: { path: 'demo.ipynb', hash: 'f00d' + '0'.repeat(60) },
        source: 'snapshot',
        unmatched: [12]
      }
    },
    cells: [
      { cell_type: 'markdown', source: ['# Title\n', 'text'] },
      {
        cell_type: 'code',
        id: 'c1',
        source: 'x = 1',
        execution_count: 3,
        metadata: {
          nbtrack: {
            in_run: true,
            execution_count: 11,
            executed_at: '2026-12-03T00:09:59Z',
            status: 'error'
          }
        },
        outputs: [{ output_type: 'stream', name: 'stdout', text: 'hi' }]
      },
      { cell_type: 'code', source: 'y = 2', execution_count: 4 }
    ]
  };

  it('marks the run’s cells with their recorded count and time', () => {
    const cells = recordedCells(nb);
    assert.deepEqual(
      cells.map(c => [c.kind, c.source, c.inRun, c.executionCount, c.failed]),
      [
        ['markdown', '# Title\ntext', false, null, false],
        ['code', 'x = 1', true, 11, true],
        ['code', 'y = 2', false, 4, false]
      ]
    );
    assert.equal(cells[1].executedAt, '2026-12-03T00:09:59Z');
    assert.equal(cells[1].outputs.length, 1);
    assert.equal(new Set(cells.map(c => c.key)).size, 3);
  });

  it('names the run, its time, its revision and the cells the notebook lacks', () => {
    const h = recordedHeader(nb, { id: 'zzz', name: 'other' });
    assert.equal(h.runId, 'abc123');
    assert.equal(h.runName, 'fit');
    assert.equal(h.recordedAt, '2026-12-03T00:10:00Z');
    assert.equal(h.revision, 'demo.ipynb · hash f00d00000000');
    assert.deepEqual([h.inRun, h.total, h.unmatched], [1, 3, [12]]);
    const bare = recordedHeader(
      { ...nb, metadata: {} },
      { id: 'zzz', name: 'other' }
    );
    assert.deepEqual(
      [bare.runId, bare.runName, bare.recordedAt, bare.revision],
      ['zzz', 'other', null, null]
    );
  });
});
