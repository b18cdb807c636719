// Live chart: the kernel pushes points while a cell runs; we append them to the vega dataset.
import { changeset } from 'vega';
import { h, clear, notice, listen } from './dom.js';
import { chartSlot } from './embed.js';

const DATASET = 'points';

export function renderLive({ model, el }) {
  const status = h('div');
  const plot = h('div');
  el.append(h('div', { class: 'nbt-widget nbt-live' }, status, plot));
  const slot = chartSlot(plot);
  let view = null;
  let seq = -1; // sequence number of the last batch applied
  let queue = []; // messages that arrived before the view was ready

  function apply(msg) {
    if (msg.type === 'reset') {
      view.change(DATASET, changeset().remove(() => true).insert(msg.rows)).run();
      seq = msg.seq;
    } else if (msg.type === 'points' && msg.seq === seq + 1) {
      view.change(DATASET, changeset().insert(msg.rows)).run();
      seq = msg.seq;
    } // a gap: wait for the next reset, which the kernel sends every few seconds
    if (msg.rows && msg.rows.length) showStatus('');
  }

  function showStatus(text) {
    clear(status);
    if (text) status.append(notice('loading', text));
  }

  async function draw() {
    const result = await slot.draw(model.get('spec'));
    view = result ? result.view : null;
    if (!view) return;
    const pending = queue;
    queue = [];
    pending.forEach(apply);
  }

  const off = listen(model, {
    'msg:custom': (msg) => {
      if (!view) queue.push(msg);
      else apply(msg);
    },
    'change:spec': draw,
    'change:message': () => showStatus(model.get('message')),
  });
  showStatus(model.get('message'));
  draw().then(() => model.send({ type: 'snapshot' }));
  return () => (off(), slot.dispose());
}
