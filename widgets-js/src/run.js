// One run: header, actions, params/metrics/tags, notebook and environment, cells with state changes.
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

export function renderRun({ model, el }) {
  const root = h('div', { class: 'nbt-widget nbt-run' });
  el.append(root);
  const chartEl = h('div');
  const slot = chartSlot(chartEl);

  function action(name) {
    model.send({ type: 'action', action: name });
  }

  function draw() {
    clear(root);
    const s = model.get('status');
    if (s !== 'ready') {
      slot.dispose();
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
        h('span', { class: 'nbt-muted nbt-action-message', text: model.get('action_message') }),
      ),
    );
    if (run.notes) root.append(h('div', { class: 'nbt-section', text: 'Notes' }), h('div', { text: run.notes }));
    root.append(h('div', { class: 'nbt-section', text: 'Params' }), kvTable(Object.entries(model.get('params')), 'No params logged.'));
    root.append(h('div', { class: 'nbt-section', text: 'Metrics' }), metricTable(model.get('metrics')));
    const spec = model.get('spec');
    if (spec && Object.keys(spec).length) {
      root.append(chartEl);
      slot.draw(spec);
    }
    root.append(h('div', { class: 'nbt-section', text: 'Tags' }), kvTable(Object.entries(model.get('tags')), 'No tags.'));
    root.append(h('div', { class: 'nbt-section', text: 'Notebook revision' }), kvTable(Object.entries(model.get('notebook')), 'Not recorded.'));
    root.append(h('div', { class: 'nbt-section', text: 'Environment' }), kvTable(Object.entries(model.get('environment')), 'Not recorded.'));
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
  const off = listen(model, { change: draw });
  draw();
  return () => (off(), slot.dispose());
}
