import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DEFAULT_SETTINGS, readSettings } from '../src/settings';

/** schema/plugin.json, read from lib-test/test/ where the compiled test runs. */
function schema(): {
  properties: Record<string, { default: unknown; description?: string }>;
} {
  const path = join(__dirname, '..', '..', 'schema', 'plugin.json');
  return JSON.parse(readFileSync(path, 'utf8'));
}

describe('settings', () => {
  it('has the defaults of the settings schema, and no setting the schema lacks', () => {
    // Given the schema JupyterLab shows in its settings editor
    const properties = schema().properties;
    // Then the defaults used before the settings load are the schema's
    const defaults = Object.fromEntries(
      Object.entries(properties).map(([k, p]) => [k, p.default])
    );
    assert.deepEqual(defaults, { ...DEFAULT_SETTINGS });
  });

  it('asks for as many chart points as the notebook chart widget draws', () => {
    assert.equal(DEFAULT_SETTINGS.chartPoints, 1500);
    assert.match(
      schema().properties.chartPoints.description ?? '',
      /MinMax-LTTB/
    );
  });

  it('fills the settings the user left unset with the defaults', () => {
    // Given settings that set only the page size
    const settings = readSettings({ pageSize: 50 });
    // Then the rest are the defaults
    assert.equal(settings.pageSize, 50);
    assert.equal(settings.chartPoints, DEFAULT_SETTINGS.chartPoints);
    assert.deepEqual(settings.keyMetrics, []);
  });
});
