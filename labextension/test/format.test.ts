import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  firstLine,
  formatMetric,
  formatSeconds,
  parseTag,
  runDuration,
  toNumber
} from '../src/format';

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
