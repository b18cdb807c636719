// Compare runs: side-by-side table, metric overlay, parallel coordinates, scatter, code diff.
import { h, clear, notice, listen, formatNumber, toNumber } from './dom.js';
import { chartSlot } from './embed.js';

const TABS = [
  ['table', 'Params & metrics'],
  ['overlay', 'Metric overlay'],
  ['parallel', 'Parallel coordinates'],
  ['scatter', 'Scatter'],
  ['code', 'Code diff'],
];

function select(model, trait, options, label) {
  const el = h('select', { 'aria-label': label });
  for (const o of options) el.append(h('option', { value: o, text: o }));
  el.value = model.get(trait);
  el.addEventListener('change', () => {
    const v = typeof model.get(trait) === 'number' ? Number(el.value) : el.value;
    model.set(trait, v);
    model.save_changes();
  });
  return h('label', {}, label, el);
}

function runSelect(model, trait, label) {
  const el = h('select', { 'aria-label': label });
  model.get('runs').forEach((r, i) => el.append(h('option', { value: String(i), text: `${r.name} (${r.id.slice(0, 7)})` })));
  el.value = String(model.get(trait));
  el.addEventListener('change', () => {
    model.set(trait, Number(el.value));
    model.save_changes();
  });
  return h('label', {}, label, el);
}

function cellValue(v) {
  if (v == null) return '—';
  return toNumber(v) === null ? String(v) : formatNumber(v);
}

function drawTable(model, pane) {
  const runs = model.get('runs');
  const hide = model.get('hide_identical');
  const toggle = h('input', {
    type: 'checkbox',
    checked: hide,
    'aria-label': 'hide identical rows',
    onchange: (e) => {
      model.set('hide_identical', e.target.checked);
      model.save_changes();
    },
  });
  const rows = model.get('rows');
  const shown = rows.filter((r) => !hide || !r.same);
  pane.append(
    h('div', { class: 'nbt-controls' }, h('label', {}, toggle, 'hide identical rows'),
      h('span', { class: 'nbt-muted', text: `${rows.length - shown.length} identical row(s) hidden` })),
  );
  const table = h('table', { class: 'nbt-kv nbt-compare-table' });
  table.append(h('tr', {}, h('th', { text: '' }), ...runs.map((r) => h('th', { text: `${r.name} (${r.id.slice(0, 7)})` }))));
  let section = null;
  for (const row of shown) {
    if (row.section !== section) {
      section = row.section;
      table.append(h('tr', {}, h('th', { colspan: String(runs.length + 1), class: 'nbt-section', text: section })));
    }
    table.append(h('tr', { class: row.same ? '' : 'nbt-differs' }, h('th', { text: row.key }), ...row.values.map((v) => h('td', { text: cellValue(v) }))));
  }
  if (!shown.length) pane.append(notice('empty', hide ? 'Every row is identical across these runs.' : 'These runs have no params, metrics or tags.'));
  else pane.append(table);
}

function drawDiff(model, pane) {
  const scope = h('input', {
    type: 'checkbox',
    checked: model.get('diff_scope') === 'all',
    'aria-label': 'show whole history',
    onchange: (e) => {
      model.set('diff_scope', e.target.checked ? 'all' : 'run');
      model.save_changes();
    },
  });
  pane.append(
    h('div', { class: 'nbt-controls' }, runSelect(model, 'diff_a', 'old'), runSelect(model, 'diff_b', 'new'),
      h('label', { title: "Diff every cell run in each run's session up to its end, not only the cells of the runs" }, scope, 'Show whole history')),
  );
  const entries = model.get('diff');
  if (!entries.length) {
    const whole = model.get('diff_scope') === 'all';
    pane.append(notice('empty', whole ? 'Neither run has recorded cells (runs from scripts have no cell sequence).' : 'Neither run has cells of its own: Show whole history diffs the cells run before them.'));
    return;
  }
  const counts = { same: 0, added: 0, removed: 0, changed: 0 };
  entries.forEach((e) => (counts[e.kind] += 1));
  // the same words as the sidebar's Compare: only the kinds present
  const parts = ['changed', 'added', 'removed'].filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`);
  if (counts.same) parts.push(`${counts.same} identical cell${counts.same === 1 ? '' : 's'}`);
  const summary = parts.length > (counts.same ? 1 : 0) ? parts.join(', ') : `Identical: ${counts.same} cell${counts.same === 1 ? '' : 's'}`;
  pane.append(h('div', { class: 'nbt-muted nbt-diff-summary', text: summary }));
  let sameRun = 0;
  const flush = () => {
    if (sameRun) pane.append(h('div', { class: 'nbt-muted', text: `… ${sameRun} identical cell(s) …` }));
    sameRun = 0;
  };
  for (const e of entries) {
    if (e.kind === 'same') {
      sameRun += 1;
      continue;
    }
    flush();
    const title = { added: 'added', removed: 'removed', changed: 'changed' }[e.kind];
    const where = [e.a != null ? `old [${e.a.execution_count ?? ' '}]` : '', e.b != null ? `new [${e.b.execution_count ?? ' '}]` : ''].filter(Boolean).join(' → ');
    const code = h('pre', { class: 'nbt-code' });
    for (const line of e.lines) {
      const cls = line.op === '+' ? 'nbt-line nbt-line-add' : line.op === '-' ? 'nbt-line nbt-line-del' : 'nbt-line';
      code.append(h('span', { class: cls, text: `${line.op} ${line.text}` }));
    }
    pane.append(h('div', { class: `nbt-diffcell nbt-diff-${e.kind}` }, h('div', { class: 'nbt-diffhead', text: `${title} cell ${where}` }), code));
  }
  flush();
}

export function renderCompare({ model, el }) {
  const tabs = h('div', { class: 'nbt-tabs', role: 'tablist' });
  const status = h('div');
  const pane = h('div', { class: 'nbt-pane' });
  el.append(h('div', { class: 'nbt-widget nbt-compare' }, tabs, status, pane));
  const chartEl = h('div');
  const slot = chartSlot(chartEl);

  function draw() {
    clear(tabs);
    clear(status);
    clear(pane);
    const s = model.get('status');
    if (s !== 'ready') {
      slot.dispose();
      status.append(notice(s === 'loading' ? 'loading' : s === 'empty' ? 'empty' : 'error', model.get('message') || 'Loading runs…'));
      return;
    }
    const current = model.get('tab');
    for (const [id, label] of TABS) {
      tabs.append(
        h('button', {
          class: 'nbt-tab',
          role: 'tab',
          'aria-selected': String(id === current),
          text: label,
          onclick: () => {
            model.set('tab', id);
            model.save_changes();
          },
        }),
      );
    }
    if (current === 'table') drawTable(model, pane);
    else if (current === 'code') drawDiff(model, pane);
    else {
      if (current === 'overlay') pane.append(h('div', { class: 'nbt-controls' }, select(model, 'metric', model.get('metric_options'), 'metric')));
      if (current === 'parallel') pane.append(h('div', { class: 'nbt-controls' }, select(model, 'metric', model.get('metric_options'), 'colour by')));
      if (current === 'scatter') {
        const fields = model.get('field_options');
        pane.append(h('div', { class: 'nbt-controls' }, select(model, 'scatter_x', fields, 'x'), select(model, 'scatter_y', fields, 'y')));
      }
      const spec = model.get(`${current}_spec`);
      const msg = model.get('chart_message') || (model.get('chart_messages') || {})[current];
      pane.append(chartEl);
      if (spec && Object.keys(spec).length) slot.draw(spec);
      else (slot.dispose(), clear(chartEl).append(notice('empty', msg || 'Nothing to draw for these runs.')));
    }
  }
  const off = listen(model, {
    change: draw,
  });
  draw();
  return () => (off(), slot.dispose());
}
