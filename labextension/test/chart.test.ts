import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { chartGeometry } from '../src/chart';

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
