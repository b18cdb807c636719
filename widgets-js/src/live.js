// Live chart: the kernel pushes points while a cell runs; we append them to the vega dataset.
// The chart is embedded with the first snapshot's rows (an empty dataset has an infinite
// extent, which vega warns about); later batches are appended in sequence.
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
  let drawing = false;
  let seq = -1; // sequence number of the last batch applied
  let queue = []; // messages that arrived while the view was being embedded

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

  // Embeds the chart holding the rows of a first snapshot, then applies what came meanwhile.
  async function start(msg) {
    drawing = true;
    const spec = { ...model.get('spec'), data: { name: DATASET, values: msg.rows } };
    const result = await slot.draw(spec);
    drawing = false;
    view = result ? result.view : null;
    if (!view) return;
    seq = msg.seq;
    showStatus('');
    const pending = queue;
    queue = [];
    pending.forEach(apply);
  }

  function receive(msg) {
    if (view) apply(msg);
    else if (drawing) queue.push(msg);
    else if (msg.type === 'reset' && msg.rows && msg.rows.length) start(msg);
    // points before any snapshot: the snapshot asked for below (or the next one) brings them
  }

  function restart() {
    view = null;
    queue = [];
    slot.dispose();
    clear(plot);
    model.send({ type: 'snapshot' });
  }

  const off = listen(model, {
    'msg:custom': receive,
    'change:spec': restart,
    'change:message': () => showStatus(model.get('message')),
  });
  showStatus(model.get('message'));
  model.send({ type: 'snapshot' });
  return () => (off(), slot.dispose());
}
