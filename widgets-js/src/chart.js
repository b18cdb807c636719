// Metric curves: controls set traits, the kernel recomputes the (downsampled) spec.
import { h, clear, notice, listen } from './dom.js';
import { chartSlot } from './embed.js';

export function renderChart({ model, el }) {
  const smoothValue = h('span', { class: 'nbt-muted' });
  const smoothing = h('input', { type: 'range', min: '0', max: '0.99', step: '0.01', 'aria-label': 'smoothing' });
  const log = h('input', { type: 'checkbox', 'aria-label': 'log scale' });
  const xSelect = h(
    'select',
    { 'aria-label': 'x axis' },
    h('option', { value: 'step', text: 'step' }),
    h('option', { value: 'time', text: 'wall time' }),
    h('option', { value: 'relative', text: 'relative time' }),
  );
  let timer = null;
  smoothing.addEventListener('input', () => {
    smoothValue.textContent = Number(smoothing.value).toFixed(2);
    clearTimeout(timer);
    timer = setTimeout(() => {
      model.set('smoothing', Number(smoothing.value));
      model.save_changes();
    }, 150);
  });
  log.addEventListener('change', () => {
    model.set('log_scale', log.checked);
    model.save_changes();
  });
  xSelect.addEventListener('change', () => {
    model.set('x', xSelect.value);
    model.save_changes();
  });
  const controls = h(
    'div',
    { class: 'nbt-controls' },
    h('label', {}, 'smoothing', smoothing, smoothValue),
    h('label', {}, log, 'log scale'),
    h('label', {}, 'x', xSelect),
  );
  const status = h('div');
  const plot = h('div');
  el.append(h('div', { class: 'nbt-widget nbt-chartwidget' }, controls, status, plot));
  const slot = chartSlot(plot);

  function sync() {
    smoothing.value = String(model.get('smoothing'));
    smoothValue.textContent = Number(model.get('smoothing')).toFixed(2);
    log.checked = model.get('log_scale');
    xSelect.value = model.get('x');
  }
  function drawStatus() {
    clear(status);
    const s = model.get('status');
    controls.style.display = s === 'ready' ? '' : 'none';
    if (s === 'loading') status.append(notice('loading', 'Loading metrics…'));
    else if (s === 'ready') return;
    else status.append(notice(s === 'empty' ? 'empty' : 'error', model.get('message')));
    if (s !== 'ready') slot.dispose(), clear(plot);
  }
  const draw = () => model.get('status') === 'ready' && slot.draw(model.get('spec'));
  const off = listen(model, {
    'change:spec': draw,
    'change:status': () => (drawStatus(), draw()),
    'change:smoothing': sync,
    'change:log_scale': sync,
    'change:x': sync,
  });
  sync();
  drawStatus();
  draw();
  return () => (off(), slot.dispose());
}
