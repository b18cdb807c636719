// Runs table: a virtual-scrolling grid whose rows are fetched page by page from the kernel.
import { h, clear, formatValue, listen, notice } from './dom.js';

const ROW_H = 28;
const VIEW_ROWS = 15;
const CHECK_W = 30;
// Column widths: wide enough for what the column holds, narrow enough that a dozen fit; more
// scroll sideways inside the widget, the checkbox and name columns staying in place.
function columnWidth(c) {
  if (c.id === 'name') return 180;
  if (c.kind === 'time') return 170;
  if (c.kind === 'id') return 84;
  if (c.id === 'status') return 80;
  if (c.id === 'experiment') return 110;
  if (c.kind === 'duration') return 84;
  return 100;
}
const STICKY = new Set(['name']);

function render({ model, el }) {
  let cache = new Map(); // page index -> rows
  let pending = new Set();
  let chooserOpen = false;
  let lastClicked = null;
  const pageSize = () => model.get('page_size') || 100;

  const query = h('input', {
    class: 'nbt-query',
    type: 'text',
    placeholder: "filter, e.g. metrics.acc > 0.9 and params.lr = '0.01'",
    'aria-label': 'query',
    onkeydown: (e) => {
      if (e.key === 'Enter') apply();
    },
  });
  query.value = model.get('filter_string');
  const apply = () => {
    model.set('filter_string', query.value);
    model.save_changes();
  };
  const count = h('span', { class: 'nbt-count' });
  const systemToggle = h('input', {
    type: 'checkbox',
    'aria-label': 'show system metrics',
    onchange: (e) => {
      model.set('show_system', e.target.checked);
      model.save_changes();
    },
  });
  const nestedToggle = h('input', {
    type: 'checkbox',
    'aria-label': 'show nested runs',
    onchange: (e) => {
      model.set('show_nested', e.target.checked);
      model.save_changes();
    },
  });
  const nestedLabel = h('span', { text: 'nested runs' });
  const chooserButton = h('button', {
    class: 'nbt-button',
    text: 'Columns',
    onclick: () => {
      chooserOpen = !chooserOpen;
      drawChooser();
    },
  });
  const toolbar = h(
    'div',
    { class: 'nbt-toolbar' },
    query,
    h('button', { class: 'nbt-button', text: 'Apply', onclick: apply }),
    h('button', {
      class: 'nbt-button',
      text: 'Clear',
      onclick: () => {
        query.value = '';
        model.set('column_filters', {});
        apply();
      },
    }),
    chooserButton,
    h('label', { class: 'nbt-check nbt-system-toggle', title: 'show the system/... metrics (CPU, memory) the recorder samples' }, systemToggle, 'system metrics'),
    h('label', { class: 'nbt-check nbt-nested-toggle', title: 'show the runs nested under another: a sweep\'s runs, the cells a replay ran again' }, nestedToggle, nestedLabel),
    h('button', { class: 'nbt-button', text: 'Refresh', onclick: () => model.send({ type: 'refresh' }) }),
    count,
  );
  const errorLine = h('div', { class: 'nbt-error', role: 'alert' });
  const chooser = h('div', { class: 'nbt-chooser' });
  const statusLine = h('div', { class: 'nbt-status' });
  const header = h('div', { class: 'nbt-row nbt-header' });
  const filters = h('div', { class: 'nbt-row nbt-filters' });
  const body = h('div', { class: 'nbt-body' });
  const scroller = h('div', { class: 'nbt-scroller', style: { height: `${ROW_H * (VIEW_ROWS + 2.5)}px` } }, header, filters, body);
  const root = h('div', { class: 'nbt-widget nbt-table' }, toolbar, errorLine, chooser, statusLine, scroller);
  el.append(root);

  const visibleCols = () => {
    const byId = new Map(model.get('columns').map((c) => [c.id, c]));
    return model.get('visible').map((id) => byId.get(id)).filter(Boolean);
  };
  // Fixed widths, so every row (each its own grid) lines up whatever its content; each row
  // as wide as its columns, so the sticky cells stay in place however far it scrolls.
  const template = (cols) => `${CHECK_W}px ${cols.map((c) => `${columnWidth(c)}px`).join(' ')}`;
  const rowWidth = (cols) => `${cols.reduce((sum, c) => sum + columnWidth(c), CHECK_W)}px`;
  // the checkbox and name cells stick to the left edge (the name's offset: the checkbox)
  const stickyLeft = (c) => (c === null ? 0 : STICKY.has(c.id) ? CHECK_W : null);
  function cell(c, attrs, ...children) {
    const left = stickyLeft(c);
    if (left === null) return h('div', attrs, ...children);
    return h('div', { ...attrs, class: `${attrs.class} nbt-sticky`, style: { left: `${left}px` } }, ...children);
  }

  function drawCount() {
    const total = model.get('total');
    const sel = model.get('selected').length;
    count.textContent = `${total.toLocaleString()} run${total === 1 ? '' : 's'}${sel ? ` · ${sel} selected` : ''}`;
  }

  function drawStatus() {
    clear(statusLine);
    const status = model.get('status');
    if (status === 'loading') statusLine.append(notice('loading', 'Loading runs…'));
    else if (status === 'no-store' || status === 'error') statusLine.append(notice('error', model.get('message')));
    else if (status === 'empty') statusLine.append(notice('empty', model.get('message')));
    scroller.style.display = status === 'no-store' ? 'none' : '';
  }

  function drawChooser() {
    clear(chooser);
    chooser.style.display = chooserOpen ? '' : 'none';
    if (!chooserOpen) return;
    const visible = new Set(model.get('visible'));
    const groups = new Map();
    for (const c of model.get('columns')) {
      if (!groups.has(c.group)) groups.set(c.group, []);
      groups.get(c.group).push(c);
    }
    for (const [group, cols] of groups) {
      const box = h('fieldset', { class: 'nbt-group' }, h('legend', { text: group }));
      for (const c of cols) {
        const input = h('input', {
          type: 'checkbox',
          checked: visible.has(c.id),
          onchange: (e) => {
            const now = model.get('visible').filter((v) => v !== c.id);
            if (e.target.checked) now.push(c.id);
            model.set('visible', now);
            model.save_changes();
          },
        });
        box.append(h('label', { class: 'nbt-check', title: c.id }, input, c.label));
      }
      chooser.append(box);
    }
  }

  function drawHeader() {
    const cols = visibleCols();
    const tpl = template(cols);
    clear(header).style.gridTemplateColumns = tpl;
    clear(filters).style.gridTemplateColumns = tpl;
    header.style.width = filters.style.width = body.style.width = rowWidth(cols);
    systemToggle.checked = model.get('show_system');
    nestedToggle.checked = model.get('show_nested');
    nestedLabel.textContent = model.get('nested') ? `nested runs (${model.get('nested')})` : 'nested runs';
    const total = model.get('total');
    const sel = model.get('selected').length;
    const all = h('input', {
      type: 'checkbox',
      title: 'select all matching runs',
      'aria-label': 'select all',
      checked: total > 0 && sel >= total,
      onchange: (e) => {
        if (e.target.checked) model.send({ type: 'select-all' });
        else {
          model.set('selected', []);
          model.save_changes();
        }
      },
    });
    header.append(cell(null, { class: 'nbt-cell' }, all));
    filters.append(cell(null, { class: 'nbt-cell' }));
    const orderBy = model.get('order_by');
    const desc = model.get('descending');
    const colFilters = model.get('column_filters') || {};
    for (const c of cols) {
      const arrow = c.id === orderBy ? (desc ? ' ▼' : ' ▲') : '';
      header.append(
        cell(
          c,
          {
            class: `nbt-cell nbt-sortable nbt-g-${c.group}`,
            title: `${c.id} (click to sort)`,
            role: 'columnheader',
            onclick: () => {
              if (model.get('order_by') === c.id) model.set('descending', !model.get('descending'));
              else {
                model.set('order_by', c.id);
                model.set('descending', c.kind === 'time');
              }
              model.save_changes();
            },
          },
          h('span', { text: c.label }),
          h('span', { class: 'nbt-arrow', text: arrow }),
        ),
      );
      const input = h('input', {
        class: 'nbt-colfilter',
        type: 'text',
        placeholder: c.kind === 'number' ? '> 0.5' : 'contains',
        'aria-label': `filter ${c.label}`,
        onkeydown: (e) => {
          if (e.key !== 'Enter') return;
          const next = { ...(model.get('column_filters') || {}) };
          if (e.target.value.trim()) next[c.id] = e.target.value;
          else delete next[c.id];
          model.set('column_filters', next);
          model.save_changes();
        },
      });
      input.value = colFilters[c.id] || '';
      filters.append(cell(c, { class: 'nbt-cell' }, input));
    }
  }

  function neededPages() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - 5);
    const last = Math.min(model.get('total'), first + VIEW_ROWS + 15);
    return { first, last };
  }

  function request() {
    const { first, last } = neededPages();
    const size = pageSize();
    for (let p = Math.floor(first / size); p * size < last; p++) {
      if (cache.has(p) || pending.has(p)) continue;
      pending.add(p);
      model.send({ type: 'page', offset: p * size, limit: size, gen: model.get('gen') });
    }
  }

  function drawRows() {
    const total = model.get('status') === 'ready' ? model.get('total') : 0;
    const cols = visibleCols();
    const tpl = template(cols);
    body.style.height = `${total * ROW_H}px`;
    scroller.style.height = `${(Math.min(Math.max(total, 3), VIEW_ROWS) + 2) * ROW_H + 2}px`;
    clear(body);
    const { first, last } = neededPages();
    const size = pageSize();
    const selected = new Set(model.get('selected'));
    for (let i = first; i < last; i++) {
      const rows = cache.get(Math.floor(i / size));
      const row = rows ? rows[i % size] : null;
      const div = h('div', { class: 'nbt-row nbt-datarow', style: { top: `${i * ROW_H}px`, gridTemplateColumns: tpl, width: rowWidth(cols) } });
      if (!row) {
        div.append(h('div', { class: 'nbt-cell nbt-placeholder', text: '…' }));
      } else {
        if (selected.has(row.id)) div.classList.add('nbt-selected');
        div.dataset.runId = row.id;
        div.dataset.index = String(i);
        const box = h('input', { type: 'checkbox', checked: selected.has(row.id), 'aria-label': 'select run' });
        div.append(cell(null, { class: 'nbt-cell' }, box));
        cols.forEach((c, j) => {
          const v = row.cells[j];
          const cls = c.id === 'status' ? `nbt-cell nbt-status-${v}` : `nbt-cell nbt-k-${c.kind}`;
          div.append(cell(c, { class: cls, title: v == null ? '' : String(v), text: formatValue(c.kind, v) }));
        });
        div.addEventListener('click', (e) => toggle(row.id, i, e.shiftKey));
      }
      body.append(div);
    }
    request();
  }

  function toggle(id, index, range) {
    const sel = new Set(model.get('selected'));
    if (range && lastClicked != null) {
      const size = pageSize();
      const [a, b] = [Math.min(lastClicked, index), Math.max(lastClicked, index)];
      for (let i = a; i <= b; i++) {
        const rows = cache.get(Math.floor(i / size));
        if (rows && rows[i % size]) sel.add(rows[i % size].id);
      }
    } else if (sel.has(id)) sel.delete(id);
    else sel.add(id);
    lastClicked = index;
    model.set('selected', [...sel]);
    model.save_changes();
  }

  function reset() {
    cache = new Map();
    pending = new Set();
    if (scroller.scrollTop > model.get('total') * ROW_H) scroller.scrollTop = 0;
    drawAll();
  }

  function drawAll() {
    query.value = model.get('filter_string');
    errorLine.textContent = model.get('error');
    errorLine.style.display = model.get('error') ? '' : 'none';
    drawCount();
    drawStatus();
    drawChooser();
    drawHeader();
    drawRows();
  }

  let frame = null;
  scroller.addEventListener('scroll', () => {
    if (frame == null) frame = requestAnimationFrame(() => ((frame = null), drawRows()));
  });

  const off = listen(model, {
    'msg:custom': (msg) => {
      if (msg.gen !== model.get('gen')) return;
      const p = Math.floor(msg.offset / pageSize());
      pending.delete(p);
      if (msg.type === 'page') {
        cache.set(p, msg.rows);
        drawRows();
      } else if (msg.type === 'page-error') {
        errorLine.textContent = `Could not read rows: ${msg.message}`;
        errorLine.style.display = '';
      }
    },
    'change:gen': reset,
    'change:error': () => {
      errorLine.textContent = model.get('error');
      errorLine.style.display = model.get('error') ? '' : 'none';
    },
    'change:selected': () => (drawCount(), drawHeader(), drawRows()),
    'change:columns': () => (drawChooser(), drawHeader()),
    'change:show_system': drawHeader,
    'change:nested': drawHeader,
    'change:status': drawStatus,
  });
  drawAll();
  return () => off();
}

export default { render };
