// One run: header, actions, params/metrics/tags, datasets, notebook and environment, cells with
// state changes.
import { h, clear, notice, listen, formatNumber, formatTime, formatDuration } from './dom.js';
import { chartSlot } from './embed.js';

function kvTable(entries, empty) {
  if (!entries.length) return notice('empty', empty);
  return h('table', { class: 'nbt-kv' }, ...entries.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: v == null ? '—' : formatNumber(v) }))));
}

function metricTable(metrics) {
  if (!metrics.length) return notice('empty', 'No metrics logged.');
  const head = h('tr', {}, ...['metric', 'latest', 'min', 'max', 'step', 'points'].map((t) => h('th', { text: t })));
  const rows = metrics.map((m) => h('tr', {}, h('th', { text: m.key }), ...[m.latest, m.min, m.max, m.step, m.count].map((v) => h('td', { text: formatNumber(v) }))));
  return h('table', { class: 'nbt-kv' }, head, ...rows);
}

function cellsList(cells) {
  if (!cells.length) return notice('empty', 'No executed cells recorded for this run (runs from scripts have none).');
  const list = h('div');
  for (const c of cells) {
    const cls = `nbt-cellrow${c.in_run ? ' nbt-inrun' : ''}${c.status === 'error' ? ' nbt-failed' : ''}`;
    const changes = [];
    if (c.created.length) changes.push(`created ${c.created.join(', ')}`);
    if (c.changed.length) changes.push(`changed ${c.changed.join(', ')}`);
    if (c.deleted.length) changes.push(`deleted ${c.deleted.join(', ')}`);
    const head = `[${c.execution_count ?? ' '}] ${c.in_run ? 'run body' : 'before run'} · ${formatDuration(c.duration)}${changes.length ? ' · ' + changes.join('; ') : ''}`;
    const row = h('div', { class: cls }, h('div', { class: 'nbt-muted', text: head }), h('pre', { class: 'nbt-code', text: c.source }));
    if (c.error) row.append(h('div', { class: 'nbt-error', text: `${c.error.type}: ${c.error.message}` }));
    list.append(row);
  }
  return list;
}

// What a dataset holds, in a few words, as the sidebar says it (labextension Datasets.tsx):
// rows x columns of a table, an array's shape and dtype, else its source or kind.
export function datasetSummary(d) {
  const schema = d.schema;
  if (Array.isArray(schema)) return `${d.rows ?? '?'} rows × ${schema.length} columns`;
  if (schema && Array.isArray(schema.shape)) return `array ${schema.shape.join('×')} ${schema.dtype ?? ''}`.trim();
  return d.source ?? d.kind;
}

// The datasets the run declared (nbtrack.log_input), one row each; a table's columns on hover.
function datasetTable(datasets) {
  const head = h('tr', {}, ...['dataset', 'context', 'digest', 'holds', 'source'].map((t) => h('th', { text: t })));
  const rows = datasets.map((d) => {
    const columns = Array.isArray(d.schema) ? d.schema.map((c) => `${c.name}: ${c.type}`).join('\n') : null;
    return h(
      'tr',
      { class: 'nbt-dataset' },
      h('th', { text: d.name }),
      h('td', { text: d.context ?? '—' }),
      h('td', { title: d.digest }, h('code', { text: d.digest.slice(0, 12) })),
      h('td', { title: columns, text: datasetSummary(d) }),
      h('td', { text: d.source ?? '—' }),
    );
  });
  return h('table', { class: 'nbt-kv nbt-datasets' }, head, ...rows);
}

// "Notebook as recorded": the page is asked first (the 'nbtrack:open' event; in JupyterLab
// nbtrack's extension answers by opening its read-only view and setting detail.handled, see
// labextension/src/bridge.ts); where nothing answers (classic Notebook, VS Code, no extension)
// the kernel writes a read-only copy beside the working directory and says where.
export const OPEN_EVENT = 'nbtrack:open';

export function askPageToOpen(view, run) {
  const detail = { view, runId: run.id, runName: run.name, handled: false };
  window.dispatchEvent(new CustomEvent(OPEN_EVENT, { detail })); // listeners run before it returns
  return detail.handled === true;
}

// The exception a failed run ended with, at the top: type and message, then where.
function failureBanner(f) {
  const where = [];
  if (f.lineno != null) where.push(`at line ${f.lineno}${f.execution_count != null ? ` of cell [${f.execution_count}]` : ''}`);
  const banner = h(
    'div',
    { class: 'nbt-failure', role: 'alert' },
    h('div', { class: 'nbt-failure-title', text: `Failed: ${f.type}${f.message ? `: ${f.message}` : ''}` }),
  );
  if (where.length || f.line) {
    const line = h('div', { class: 'nbt-muted', text: where.join(' ') + (f.line ? ':' : '') });
    banner.append(line);
    if (f.line) banner.append(h('pre', { class: 'nbt-code', text: f.line }));
  }
  return banner;
}

// The environment as rows (Python, platform, CPU, memory, GPUs), its packages folded below.
function environmentSection(env) {
  const rows = (env && env.rows) || [];
  const packages = Object.entries((env && env.packages) || {});
  if (!rows.length && !packages.length) return notice('empty', 'Not recorded.');
  const box = h('div', { class: 'nbt-environment' }, kvTable(rows.map((r) => [r.label, r.value]), ''));
  if (packages.length) {
    box.append(
      h(
        'details',
        { class: 'nbt-packages' },
        h('summary', { text: `${packages.length} installed package${packages.length === 1 ? '' : 's'}` }),
        h('ul', { class: 'nbt-package-list' }, ...packages.map(([name, version]) => h('li', {}, h('span', { text: name }), h('span', { class: 'nbt-muted', text: ` ${version}` })))),
      ),
    );
  }
  return box;
}

export function renderRun({ model, el }) {
  const root = h('div', { class: 'nbt-widget nbt-run' });
  el.append(root);
  // one small chart per metric, wrapping to the output's width; slots live across redraws
  const chartsEl = h('div', { class: 'nbt-smallcharts' });
  let slots = [];
  const disposeCharts = () => (slots.forEach((s) => s.dispose()), (slots = []), clear(chartsEl));

  function action(name) {
    model.send({ type: 'action', action: name });
  }

  function draw() {
    clear(root);
    const s = model.get('status');
    if (s !== 'ready') {
      disposeCharts();
      root.append(notice(s === 'loading' ? 'loading' : 'error', model.get('message') || 'Loading run…'));
      return;
    }
    const run = model.get('run');
    root.append(
      h('div', { class: 'nbt-section', text: `${run.name}` }),
      h('div', { class: 'nbt-muted', text: `${run.id} · ${run.experiment} · ${run.status} · started ${formatTime(run.start_time)} · ${formatDuration(run.duration)}` }),
    );
    const failure = model.get('failure');
    if (failure) root.append(failureBanner(failure));
    root.append(
      h(
        'div',
        { class: 'nbt-controls' },
        h('button', { class: 'nbt-button', text: 'Replay', onclick: () => action('replay') }),
        h('button', { class: 'nbt-button', text: 'Export notebook', onclick: () => action('export') }),
        h('button', {
          class: 'nbt-button nbt-open-recorded',
          text: 'Notebook as recorded',
          title: 'The notebook as it was when the run was recorded, read-only, its cells marked',
          onclick: () => {
            if (!askPageToOpen('recorded-notebook', run)) action('open-recorded');
          },
        }),
        h('span', { class: 'nbt-muted nbt-action-message', text: model.get('action_message') }),
      ),
    );
    if (run.notes) root.append(h('div', { class: 'nbt-section', text: 'Notes' }), h('div', { text: run.notes }));
    root.append(h('div', { class: 'nbt-section', text: 'Params' }), kvTable(Object.entries(model.get('params')), 'No params logged.'));
    root.append(h('div', { class: 'nbt-section', text: 'Metrics' }), metricTable(model.get('metrics')));
    if ((model.get('charts') || []).length) root.append(chartsEl);
    root.append(h('div', { class: 'nbt-section', text: 'Tags' }), kvTable(Object.entries(model.get('tags')), 'No tags.'));
    const datasets = model.get('datasets') || [];
    if (datasets.length) root.append(h('div', { class: 'nbt-section', text: 'Datasets' }), datasetTable(datasets));
    root.append(h('div', { class: 'nbt-section', text: 'Notebook revision' }), kvTable(Object.entries(model.get('notebook')), 'Not recorded.'));
    root.append(h('div', { class: 'nbt-section', text: 'Environment' }), environmentSection(model.get('environment')));
    const replays = model.get('replays');
    root.append(
      h('div', { class: 'nbt-section', text: 'Replays' }),
      replays.length
        ? kvTable(replays.map((r) => [`${r.name} (${r.id.slice(0, 7)})`, `${r.status}${r.reproduced == null ? '' : r.reproduced ? ', reproduced' : ', differs'} · ${formatTime(r.start_time)}`]), '')
        : notice('empty', 'Never replayed.'),
    );
    const artifacts = model.get('artifacts');
    root.append(h('div', { class: 'nbt-section', text: 'Artifacts' }), kvTable(artifacts.map((a) => [a.path, `${a.size} bytes`]), 'No artifacts.'));
    const models = model.get('models') || [];
    if (models.length) {
      root.append(h('div', { class: 'nbt-section', text: 'Models' }));
      for (const m of models) {
        const versions = Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ');
        root.append(h('div', { class: 'nbt-muted', text: `${m.name} · ${m.flavor} · ${m.class} · ${versions}` }), h('pre', { class: 'nbt-code', text: m.snippet }));
      }
    }
    const cells = model.get('cells');
    root.append(h('div', { class: 'nbt-section', text: `Executed cells (${cells.length})` }), cellsList(cells));
  }
  function drawCharts() {
    disposeCharts();
    for (const spec of model.get('charts') || []) {
      const box = h('div', { class: 'nbt-smallchart' });
      chartsEl.append(box);
      const slot = chartSlot(box);
      slots.push(slot);
      slot.draw(spec);
    }
  }
  const off = listen(model, { change: draw, 'change:charts': drawCharts });
  draw();
  drawCharts();
  return () => (off(), disposeCharts());
}
