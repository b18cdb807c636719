// vega-embed bundled from npm (no CDN): embed a vega-lite spec, returning the vega view.
import vegaEmbed from 'vega-embed';
import { h, clear, notice } from './dom.js';

const OPTIONS = {
  renderer: 'svg',
  actions: { export: true, source: false, compiled: false, editor: false },
  tooltip: { theme: 'light' },
};

// Embeds `spec` into `el` (replacing what was there); returns the vega-embed result or null.
export async function embed(el, spec) {
  clear(el);
  if (!spec || Object.keys(spec).length === 0) return null;
  const target = h('div', { class: 'nbt-chart' });
  el.append(target);
  try {
    return await vegaEmbed(target, spec, OPTIONS);
  } catch (error) {
    clear(el).append(notice('error', `Could not draw the chart: ${error.message}`));
    return null;
  }
}

// Keeps one live embedding in `el`, finalizing the previous one on every redraw.
export function chartSlot(el) {
  let current = null;
  let token = 0;
  return {
    async draw(spec) {
      const mine = ++token;
      if (current) current.finalize();
      current = null;
      const result = await embed(el, spec);
      if (mine !== token) {
        if (result) result.finalize();
        return null;
      }
      current = result;
      return result;
    },
    dispose() {
      token++;
      if (current) current.finalize();
      current = null;
    },
  };
}
