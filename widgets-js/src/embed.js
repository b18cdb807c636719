// vega-embed bundled from npm (no CDN): embed a vega-lite spec, returning the vega view.
import vegaEmbed from 'vega-embed';
import { h, clear, notice } from './dom.js';

const OPTIONS = {
  renderer: 'svg',
  actions: { export: true, source: false, compiled: false, editor: false },
  tooltip: { theme: 'light' },
};

// Room a chart needs beside its plot: y-axis labels and title, padding, vega-embed's actions.
const AXIS_ROOM = 70;
const ACTIONS_ROOM = 48;
const MIN_PLOT = 200;

// `spec` narrowed to the width `el` has (its plots, or each facet panel, no wider than fits),
// so a second panel or a legend is never cut by the output area; a spec that fits is as it was.
export function fitWidth(spec, available) {
  if (!available || available <= 0) return spec;
  if (spec.facet && spec.spec && spec.spec.width) {
    const columns = spec.columns || 1;
    const room = Math.floor((available - ACTIONS_ROOM) / columns) - AXIS_ROOM - 20;
    if (spec.spec.width <= room) return spec;
    return { ...spec, spec: { ...spec.spec, width: Math.max(MIN_PLOT, room) } };
  }
  if (typeof spec.width === 'number') {
    const room = available - ACTIONS_ROOM - AXIS_ROOM;
    if (spec.width <= room) return spec;
    return { ...spec, width: Math.max(MIN_PLOT, room) };
  }
  return spec;
}

// The width `el` is given once it is on the page (a widget renders before the output area
// attaches it): 300 ms at most, else 0 (no narrowing).
async function widthOf(el) {
  for (let i = 0; i < 20 && el.clientWidth === 0; i++) await new Promise((r) => setTimeout(r, 15));
  return el.clientWidth;
}

// Embeds `spec` into `el` (replacing what was there); returns the vega-embed result or null.
export async function embed(el, spec) {
  clear(el);
  if (!spec || Object.keys(spec).length === 0) return null;
  const target = h('div', { class: 'nbt-chart' });
  el.append(target);
  try {
    return await vegaEmbed(target, fitWidth(spec, await widthOf(el)), OPTIONS);
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
