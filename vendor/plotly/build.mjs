// Writes ../../static/vendor/plotly.min.js (and its licence) from index.js with the options
// plotly.js builds its own dist bundles with (its esbuild-config.js): an IIFE that sets
// window.Plotly, CSS inlined, `global` as `window`, no AMD. Run by `make plotly-bundle`.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { environmentPlugin } from 'esbuild-plugin-environment';
import InlineCSSPlugin from 'esbuild-plugin-inline-css';

const out = new URL('../../static/vendor/', import.meta.url);
const plotly = JSON.parse(readFileSync(new URL('node_modules/plotly.js/package.json', import.meta.url)));
const traces = ['scatter', ...[...readFileSync(new URL('index.js', import.meta.url), 'utf8')
    .matchAll(/require\('plotly\.js\/lib\/(\w+)'\)/g)].map((m) => m[1]).filter((t) => t !== 'core')];

const result = await build({
    entryPoints: [new URL('index.js', import.meta.url).pathname],
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    sourcemap: false,
    target: 'es2016',
    plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    write: false,
});
// plotly.js's own licence header, as its partial bundles carry it, naming what this one holds.
const dist = readFileSync(new URL('node_modules/plotly.js/dist/plotly.min.js', import.meta.url), 'utf8');
const header = dist.slice(0, dist.indexOf('*/') + 3)
    .replace('plotly.js v', `plotly.js (model portal: ${traces.join(', ')} - minified) v`);
writeFileSync(new URL('plotly.min.js', out), header + result.outputFiles[0].text);
copyFileSync(new URL('node_modules/plotly.js/LICENSE', import.meta.url), new URL('plotly.js-LICENSE.txt', out));
console.log(`static/vendor/plotly.min.js: plotly.js ${plotly.version} with ${traces.join(', ')}`);
