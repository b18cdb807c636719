import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { NbtrackClient, Requester } from '../src/api';
import {
  errorParts,
  FilterKeysCache,
  IFilterKeys,
  insertKey,
  keyContext,
  matchingKeys,
  quoteKey
} from '../src/filter';
import { RunListModel } from '../src/model';

const KEYS: IFilterKeys = {
  params: ['alpha', 'l1_ratio', 'max_iter', 'val alpha'],
  metrics: ['acc', 'loss', 'val_acc'],
  tags: ['owner'],
  attributes: ['run_id', 'run_name', 'status']
};

describe('key completion', () => {
  it('knows the key typed after each prefix, and none elsewhere', () => {
    assert.deepEqual(keyContext('params.', 7), {
      group: 'params',
      start: 7,
      end: 7,
      partial: ''
    });
    const text = 'sgd and metrics.va > 0.9';
    assert.deepEqual(keyContext(text, 18), {
      group: 'metrics',
      start: 16,
      end: 18,
      partial: 'va'
    });
    assert.equal(keyContext('MIN(metric.lo', 13)?.group, 'metrics');
    assert.equal(keyContext('attributes.st', 13)?.group, 'attributes');
    assert.equal(keyContext('tag.', 4)?.group, 'tags');
    assert.equal(keyContext('sgd', 3), null);
    assert.equal(keyContext('cells.so', 8), null); // fields, not stored keys
    assert.equal(keyContext("params.alpha = 'x.", 18), null);
  });

  it('offers the keys holding what was typed, those starting with it first', () => {
    const at = (text: string) => keyContext(text, text.length)!;
    assert.deepEqual(matchingKeys(KEYS, at('params.')), KEYS.params);
    assert.deepEqual(matchingKeys(KEYS, at('params.AL')), [
      'alpha',
      'val alpha'
    ]);
    assert.deepEqual(matchingKeys(KEYS, at('metrics.acc')), ['acc', 'val_acc']);
    assert.deepEqual(matchingKeys(KEYS, at('tags.owner')), []); // complete
    assert.deepEqual(matchingKeys({ ...KEYS, tags: [] }, at('tags.')), []);
  });

  it('inserts the key, quoted when it must be, with the caret after it', () => {
    const text = 'params.al > 1';
    const ctx = keyContext(text, 9)!;
    assert.deepEqual(insertKey(text, ctx, 'alpha'), {
      text: 'params.alpha > 1',
      caret: 12
    });
    const end = keyContext('params.v', 8)!;
    assert.deepEqual(insertKey('params.v', end, 'val alpha'), {
      text: 'params.`val alpha` ',
      caret: 19
    });
    assert.equal(quoteKey('a`b'), '`a``b`');
    assert.equal(quoteKey('system/cpu-0.5'), 'system/cpu-0.5');
  });

  it('asks the keys once per experiment until they are old', async () => {
    let asked = 0;
    let now = 0;
    const cache = new FilterKeysCache(
      () => {
        asked++;
        return Promise.resolve(KEYS);
      },
      1000,
      () => now
    );
    await cache.get('e');
    await cache.get('e');
    assert.equal(asked, 1);
    await cache.get('other');
    assert.equal(asked, 2);
    now = 1500;
    await cache.get('e');
    assert.equal(asked, 3);
  });

  it('asks again after a failure', async () => {
    let fail = true;
    const cache = new FilterKeysCache(() =>
      fail ? Promise.reject(new Error('down')) : Promise.resolve(KEYS)
    );
    await assert.rejects(cache.get());
    fail = false;
    await new Promise(r => setTimeout(r, 0));
    assert.deepEqual(await cache.get(), KEYS);
  });
});

describe('a bad filter', () => {
  const message =
    "unknown operator '>>' (at column 13)\n" +
    '  metrics.acc >> 0.9\n' +
    '              ^^\n' +
    'hint: operators are =, !=';

  it('is split into its reason, line, bad token and hint', () => {
    const parts = errorParts(message)!;
    assert.equal(parts.reason, "unknown operator '>>' (at column 13)");
    assert.equal(parts.line, 'metrics.acc >> 0.9');
    assert.equal(
      parts.line.slice(parts.start, parts.start + parts.length),
      '>>'
    );
    assert.equal(parts.hint, 'hint: operators are =, !=');
    assert.equal(errorParts('no such experiment'), null);
  });

  it('is not sent to the runs listing, nor polled', async () => {
    // Given a server whose check says a filter with '>>' is bad
    const asked: string[] = [];
    const requester: Requester = path => {
      asked.push(decodeURIComponent(path.replace(/\+/g, ' ')));
      const bad = path.startsWith('filter/check') && path.includes('%3E%3E');
      const body = path.startsWith('filter/check')
        ? bad
          ? { ok: false, message }
          : { ok: true }
        : { runs: [], next_page_token: null, store: '/s' };
      return Promise.resolve(new Response(JSON.stringify(body)));
    };
    const model = new RunListModel(new NbtrackClient(requester));
    model.settings = {
      ...model.settings,
      activeRefreshSeconds: 0.5,
      idleRefreshSeconds: 0.5
    };
    model.start(() => true);
    // When the user applies it, and a few refresh periods pass
    await model.setFilter('metrics.acc >> 0.9');
    await new Promise(r => setTimeout(r, 1300));
    // Then its error shows and the runs were never asked with it
    assert.equal(model.filterError, message);
    assert.equal(model.loading, false);
    assert.deepEqual(
      asked.filter(p => p.startsWith('runs')),
      []
    );
    // When a good filter is applied, Then it is listed and polled again
    await model.setFilter('metrics.acc > 0.9');
    assert.equal(model.filterError, '');
    await new Promise(r => setTimeout(r, 1300));
    model.stop();
    const listed = asked.filter(p => p.startsWith('runs'));
    assert.ok(listed.length >= 2, listed.join(', '));
    assert.ok(listed.every(p => p.includes('metrics.acc > 0.9')));
  });
});
