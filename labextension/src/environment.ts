/**
 * A recorded environment manifest as a person reads it: Python, platform, CPU, memory (in
 * binary units) and GPUs as labelled rows, the installed packages as a sorted list. The
 * notebook widget's run view says the same (nbtrack/widgets/run_detail.py).
 */

export interface IEnvironmentView {
  rows: { label: string; value: string }[];
  packages: [string, string][];
}

const KNOWN = new Set([
  'python',
  'platform',
  'cpu',
  'memory_total',
  'gpus',
  'packages',
  'nbtrack'
]);

function record(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function words(obj: Record<string, unknown>, keys: string[]): string {
  return keys
    .map(k => obj[k])
    .filter(v => v !== null && v !== undefined && v !== '')
    .map(String)
    .join(' ');
}

/** Bytes in binary units: 25275973632 -> "23.5 GiB". */
export function humanSize(bytes: number): string {
  let size = bytes;
  for (const unit of ['B', 'KiB', 'MiB', 'GiB']) {
    if (Math.abs(size) < 1024) {
      return unit === 'B'
        ? `${size.toFixed(0)} B`
        : `${size.toFixed(1)} ${unit}`;
    }
    size /= 1024;
  }
  return `${size.toFixed(1)} TiB`;
}

/** The manifest's rows and packages; empty for anything that is not a manifest. */
export function describeEnvironment(env: unknown): IEnvironmentView {
  const e = record(env);
  const rows: IEnvironmentView['rows'] = [];
  const py = record(e.python);
  if (Object.keys(py).length) {
    rows.push({
      label: 'Python',
      value: words(py, ['implementation', 'version'])
    });
    if (py.executable) {
      rows.push({ label: 'Interpreter', value: String(py.executable) });
    }
  }
  const plat = record(e.platform);
  if (Object.keys(plat).length) {
    rows.push({
      label: 'Platform',
      value:
        words(plat, ['system', 'release', 'machine']) ||
        String(plat.platform ?? '')
    });
  }
  const cpu = record(e.cpu);
  if (cpu.count || cpu.model) {
    rows.push({
      label: 'CPU',
      value: `${cpu.count ? `${cpu.count} × ` : ''}${cpu.model ?? 'CPU'}`
    });
  }
  if (typeof e.memory_total === 'number') {
    rows.push({ label: 'Memory', value: humanSize(e.memory_total) });
  }
  if (Array.isArray(e.gpus)) {
    const names = e.gpus.map(g => String(record(g).name ?? g));
    rows.push({
      label: 'GPUs',
      value: names.length ? names.join(', ') : 'none'
    });
  }
  for (const [k, v] of Object.entries(e)) {
    if (!KNOWN.has(k) && ['string', 'number', 'boolean'].includes(typeof v)) {
      rows.push({ label: k, value: String(v) });
    }
  }
  const packages = Object.entries(record(e.packages))
    .map(([name, version]): [string, string] => [name, String(version)])
    .sort((a, b) => a[0].toLowerCase().localeCompare(b[0].toLowerCase()));
  return { rows, packages };
}
