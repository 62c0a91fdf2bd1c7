/**
 * `npm run bench`: times the bundled model in headless Chromium (onnxruntime-web, as in the
 * webview; WebAssembly on one thread, and WebGPU on whatever adapter Chromium has) against
 * onnxruntime-node on one thread, on the same graph and token ids, in one invocation.
 * Figures are medians of 10 runs after a 2-second warm-up (WebAssembly tiers up over its first runs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { launchChromium } from '../test/support/chromium';
import { ROOT } from '../test/support/paths';
import { serve } from '../test/support/static-server';
import { exposeAttention } from '../src/engine/attention-graph';

const RUNS = 10;
const LENGTHS = [16, 64, 256];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function native(modelPath: string) {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(modelPath)));
  let t = performance.now();
  const session = await ortNode.InferenceSession.create(graph.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const createMs = performance.now() - t;
  const rows = [];
  for (const n of LENGTHS) {
    const ids = Array.from({ length: n }, (_, i) => 100 + ((i * 7919) % 7000));
    const feeds = { input_ids: new ortNode.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]) };
    for (const t0 = performance.now(); performance.now() - t0 < 2000; ) await session.run(feeds);
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    rows.push({ tokens: n, runMs: median(times) });
  }
  await session.release();
  return { createMs, rows };
}

type BrowserResult = { backend: string; surgeryMs: number; createMs: number; rows: { tokens: number; runMs: number; summariseMs: number; attentionBytes: number; summaryBytes: number }[] };

async function main(): Promise<void> {
  const modelPath = path.join(ROOT, 'media', 'model', 'model.onnx');
  const server = await serve({ '/dist/': path.join(ROOT, 'dist'), '/media/': path.join(ROOT, 'media') }, {
    '/bench.html': '<html><body><script type="module" src="/dist/test-browser/bench-page.js"></script></body></html>',
  });
  const browser = await launchChromium();
  const results: Record<string, BrowserResult> = {};
  try {
    for (const backend of ['wasm', 'webgpu'] as const) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/bench.html`);
      await page.waitForFunction(() => document.title === 'bench ready');
      results[backend] = await page.evaluate(
        ([url, lengths, b, runs]) => (window as unknown as { bench: (...a: unknown[]) => Promise<BrowserResult> }).bench(url, lengths, b, runs),
        [`${server.url}/media/model/model.onnx`, LENGTHS, backend, RUNS] as const,
      );
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const nat = await native(modelPath);
  const wasm = results.wasm;
  const gpu = results.webgpu;
  console.log(`bundled model code-prose-gpt (4 layers × 8 heads), medians of ${RUNS} runs after a 2 s warm-up`);
  console.log(`graph surgery: ${wasm.surgeryMs.toFixed(0)} ms; session creation: wasm ${wasm.createMs.toFixed(0)} ms, WebGPU (${gpu.backend}) ${gpu.createMs.toFixed(0)} ms, onnxruntime-node ${nat.createMs.toFixed(0)} ms`);
  console.log('');
  console.log('| tokens | onnxruntime-node 1 thread (ms) | wasm 1 thread (ms) | wasm / native | WebGPU (ms) | summarise (ms) | attention bytes | bytes to host |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  LENGTHS.forEach((n, i) => {
    const w = wasm.rows[i];
    const g = gpu.rows[i];
    const nr = nat.rows[i];
    console.log(`| ${n} | ${nr.runMs.toFixed(2)} | ${w.runMs.toFixed(2)} | ${(w.runMs / nr.runMs).toFixed(2)}× | ${g.runMs.toFixed(1)} | ${w.summariseMs.toFixed(2)} | ${w.attentionBytes.toLocaleString('en')} | ${w.summaryBytes.toLocaleString('en')} |`);
  });
  console.log('');
  console.log(`fixed overhead at 16 tokens (wasm − native): ${(wasm.rows[0].runMs - nat.rows[0].runMs).toFixed(2)} ms`);
  if (gpu.backend !== 'webgpu') console.log('(no WebGPU adapter in this Chromium: the WebGPU column ran on WebAssembly)');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
