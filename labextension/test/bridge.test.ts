import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  handleOpen,
  type IOpenTarget,
  listenForOpenRequests,
  OPEN_EVENT
} from '../src/bridge';

const ID = '0123456789abcdef0123456789abcdef';

function views(): IOpenTarget & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    openRun: (id, name) => opened.push(`run ${id} ${name}`),
    openRecorded: (id, name) => opened.push(`recorded ${id} ${name}`)
  };
}

describe("the widgets' open requests", () => {
  it('opens the notebook as recorded and marks the request handled', () => {
    const target = views();
    const detail = { view: 'recorded-notebook', runId: ID, runName: 'fit' };
    assert.equal(handleOpen(target, detail), true);
    assert.deepEqual(target.opened, [`recorded ${ID} fit`]);
    assert.equal((detail as { handled?: boolean }).handled, true);
  });

  it('opens a run, named by its id when no name is given', () => {
    const target = views();
    assert.equal(handleOpen(target, { view: 'run', runId: ID }), true);
    assert.deepEqual(target.opened, [`run ${ID} 01234567`]);
  });

  it('leaves alone unknown views, bad ids and requests already handled', () => {
    const target = views();
    for (const detail of [
      { view: 'chart', runId: ID },
      { view: 'run', runId: '../etc' },
      { view: 'run' },
      { view: 'run', runId: ID, handled: true },
      null,
      'run'
    ]) {
      assert.equal(handleOpen(target, detail), false);
    }
    assert.deepEqual(target.opened, []);
  });

  it('answers the event before dispatchEvent returns, until stopped', () => {
    const target = views();
    const events = new EventTarget();
    const stop = listenForOpenRequests(target, events);
    const detail = { view: 'recorded-notebook', runId: ID, handled: false };
    events.dispatchEvent(new CustomEvent(OPEN_EVENT, { detail }));
    assert.equal(detail.handled, true);
    stop();
    const later = { view: 'run', runId: ID, handled: false };
    events.dispatchEvent(new CustomEvent(OPEN_EVENT, { detail: later }));
    assert.equal(later.handled, false);
    assert.equal(target.opened.length, 1);
  });
});
