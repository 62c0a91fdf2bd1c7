// One esbuild script builds every target: the extension host, the webview, the CLI, the tests
// and the benchmark. It also copies the bundled model from ../shared into media/model (ignored
// by git: the 21 MB graph is shipped in the .vsix, not kept twice in the repository).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
// `npm run watch`: builds once, then again on every change, until stopped.
const watch = process.argv.includes('--watch');
const dist = path.join(root, 'dist');

function copyModel() {
  const target = path.join(root, 'media', 'model');
  const source =
    process.env.ATTENTION_EXPLORER_MODEL_DIR ?? path.join(root, '..', 'shared', 'models', 'code-prose-gpt');
  fs.mkdirSync(target, { recursive: true });
  for (const f of ['model.onnx', 'tokenizer.json', 'README.md']) {
    const from = path.join(source, f);
    const to = path.join(target, f);
    if (!fs.existsSync(from)) {
      if (fs.existsSync(to)) continue;
      throw new Error(
        `the bundled model's ${f} was not found at ${from}; set ATTENTION_EXPLORER_MODEL_DIR to the code-prose-gpt folder`,
      );
    }
    const a = fs.statSync(from);
    if (!fs.existsSync(to) || fs.statSync(to).size !== a.size) fs.copyFileSync(from, to);
  }
  fs.copyFileSync(path.join(root, 'media', 'model-config.json'), path.join(target, 'config.json'));
}

function copyOrtWasm() {
  const from = path.join(root, 'node_modules', 'onnxruntime-web', 'dist');
  const to = path.join(dist, 'webview', 'ort');
  fs.mkdirSync(to, { recursive: true });
  // The panel's workers take the binary from the page: the plain WebAssembly build (14 MB) when
  // WebGPU will not be used, the WebGPU (JSEP) build (28 MB) when it will. The engine tests'
  // pages load the JSEP build through its loader (.mjs).
  for (const f of [
    'ort-wasm-simd-threaded.wasm',
    'ort-wasm-simd-threaded.jsep.wasm',
    'ort-wasm-simd-threaded.jsep.mjs',
  ]) {
    const src = path.join(from, f);
    const dst = path.join(to, f);
    if (!fs.existsSync(dst) || fs.statSync(dst).size !== fs.statSync(src).size) fs.copyFileSync(src, dst);
  }
}

function listTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f));
}

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', target: 'es2022' };

copyModel();
// Test files removed from test/ must not linger in dist/ (node --test runs what it finds there).
fs.rmSync(path.join(dist, 'test'), { recursive: true, force: true });
const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: { cli: 'src/cli.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    external: ['onnxruntime-web'],
  },
  {
    ...common,
    entryPoints: { main: 'webview/main.ts' },
    outdir: path.join(dist, 'webview'),
    platform: 'browser',
    format: 'esm',
    loader: { '.css': 'text' },
  },
  // The engine's worker, once per onnxruntime-web build: the page starts the one it needs.
  ...['wasm', 'webgpu'].map((flavour) => ({
    ...common,
    entryPoints: { [`engine-worker-${flavour}`]: 'webview/engine-worker.ts' },
    outdir: path.join(dist, 'webview'),
    platform: 'browser',
    format: 'esm',
    alias: flavour === 'wasm' ? { 'onnxruntime-web': 'onnxruntime-web/wasm' } : {},
  })),
  {
    ...common,
    sourcemap: true,
    minify: false,
    entryPoints: [...listTests(path.join(root, 'test')), 'tools/bench.ts'],
    outbase: root,
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    external: ['vscode', 'onnxruntime-web', 'onnxruntime-node', 'playwright-core', 'esbuild'],
  },
  // Pages the engine tests open in Chromium: the same engine code, bundled for the browser.
  {
    ...common,
    sourcemap: true,
    minify: false,
    entryPoints: { 'fixture-harness': 'test/engine/fixture-harness.ts', 'bench-page': 'tools/bench-page.ts' },
    outdir: path.join(dist, 'test-browser'),
    platform: 'browser',
    format: 'esm',
  },
];
if (watch) {
  copyOrtWasm();
  fs.mkdirSync(path.join(dist, 'webview'), { recursive: true });
  fs.copyFileSync(path.join(root, 'webview', 'style.css'), path.join(dist, 'webview', 'style.css'));
  const contexts = await Promise.all(builds.map((b) => esbuild.context({ ...b, logLevel: 'info' })));
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('watching src/, webview/, test/ and tools/ (style.css is copied at start: restart for it)');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
copyOrtWasm();
fs.copyFileSync(path.join(root, 'webview', 'style.css'), path.join(dist, 'webview', 'style.css'));
fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
