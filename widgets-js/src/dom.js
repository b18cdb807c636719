// Small DOM helpers shared by every widget. User text is always set with textContent.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'style') Object.assign(el.style, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// The kernel sends numbers JSON-safe (nbtrack.query.jsonsafe.json_number): NaN and infinities
// as "NaN", "Infinity", "-Infinity". toNumber reads a number or one of those back, else null.
const SPELLED = new Map([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

export function toNumber(v) {
  if (typeof v === 'number') return v;
  return typeof v === 'string' && SPELLED.has(v) ? SPELLED.get(v) : null;
}

// A number as the tables show it (six significant digits); NaN and infinities spelled as the
// kernel spells them; anything else as text.
export function formatNumber(v) {
  if (v == null) return '';
  const n = toNumber(v);
  if (n === null) return String(v);
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-4 || a >= 1e7)) return n.toExponential(4);
  return String(Number(n.toPrecision(6)));
}

export function formatTime(seconds) {
  if (seconds == null) return '';
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(seconds) {
  if (seconds == null) return '';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${Math.round(seconds % 60)}s`;
  const hrs = Math.floor(m / 60);
  return `${hrs}h ${m % 60}m`;
}

export function formatValue(kind, v) {
  if (v == null) return '';
  if (kind === 'time') return formatTime(v);
  if (kind === 'duration') return formatDuration(v);
  if (kind === 'number') return formatNumber(v);
  if (kind === 'id') return String(v).slice(0, 8); // a run id, short (the full id on hover)
  return String(v);
}

// A message line: kind is info | loading | error | empty.
export function notice(kind, text) {
  return h('div', { class: `nbt-notice nbt-${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
}

// Subscribe to model events; returns a function removing every handler.
export function listen(model, handlers) {
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);
  return () => {
    for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
  };
}
