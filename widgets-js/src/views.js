// The chart-bearing widgets share one module (vega, vega-lite and vega-embed bundled once).
import { renderChart } from './chart.js';
import { renderLive } from './live.js';
import { renderCompare } from './compare.js';
import { renderRun } from './run.js';

const RENDERERS = { chart: renderChart, live: renderLive, compare: renderCompare, run: renderRun };

function render({ model, el }) {
  const kind = model.get('_kind');
  const fn = RENDERERS[kind];
  if (!fn) {
    el.textContent = `nbtrack: unknown widget kind ${JSON.stringify(kind)}`;
    return undefined;
  }
  return fn({ model, el });
}

export default { render };
