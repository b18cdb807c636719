import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { describeEnvironment, humanSize } from '../src/environment';

describe('environment', () => {
  it('reads a manifest as labelled rows, memory in binary units, packages sorted', () => {
    const view = describeEnvironment({
      python: {
        version: '3.11.2',
        implementation: 'CPython',
        executable: '/x/python'
      },
      platform: {
        system: 'Linux',
        release: '6.1',
        machine: 'x86_64',
        platform: 'L'
      },
      cpu: { count: 2, model: 'AMD EPYC' },
      memory_total: 25275973632,
      gpus: [],
      packages: { numpy: '2.1.0', Altair: '6.3.0' },
      nbtrack: { hash_scheme: 2 }
    });
    assert.deepEqual(view.rows, [
      { label: 'Python', value: 'CPython 3.11.2' },
      { label: 'Interpreter', value: '/x/python' },
      { label: 'Platform', value: 'Linux 6.1 x86_64' },
      { label: 'CPU', value: '2 × AMD EPYC' },
      { label: 'Memory', value: '23.5 GiB' },
      { label: 'GPUs', value: 'none' }
    ]);
    assert.deepEqual(view.packages, [
      ['Altair', '6.3.0'],
      ['numpy', '2.1.0']
    ]);
  });

  it('sizes bytes and says nothing of what is not a manifest', () => {
    assert.equal(humanSize(512), '512 B');
    assert.equal(humanSize(1536), '1.5 KiB');
    assert.deepEqual(describeEnvironment(null), { rows: [], packages: [] });
  });
});
