// Bundles the widgets' front ends into nbtrack/widgets/static/ (ES modules for anywidget).
// table.js has no chart code; views.js carries vega, vega-lite and vega-embed from npm so
// nothing is fetched from a CDN at run time. Their stylesheet, static/widgets.css, is edited in place.
import * as esbuild from 'esbuild';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const outdir = '../nbtrack/widgets/static';
const options = {
  entryPoints: { table: 'src/table.js', views: 'src/views.js' },
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['es2020'],
  outdir,
  legalComments: 'none',
  logLevel: 'info',
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
};

if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  const result = await esbuild.build(options);
  writeLicenses(result.metafile);
}

// The bundles carry third-party code (vega and friends, BSD-3/ISC/MIT): keep their notices.
function writeLicenses(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) packages.add(m[1]);
  }
  const parts = [];
  for (const name of [...packages].sort()) {
    const dir = `node_modules/${name}`;
    const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].map((f) => `${dir}/${f}`).find(existsSync);
    const text = file ? readFileSync(file, 'utf8').trim() : `License: ${pkg.license}`;
    parts.push(`${name} ${pkg.version}\n${'-'.repeat(40)}\n${text}\n`);
  }
  writeFileSync(`${outdir}/THIRD_PARTY_LICENSES.txt`, parts.join('\n'));
}
