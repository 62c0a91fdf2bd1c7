/**
 * `npm run bench`: onnxruntime-web as the webview runs it (WebAssembly on one thread, in headless
 * Chromium; WebGPU on whatever adapter Chromium has, for the bundled model) against
 * onnxruntime-node on one thread, on the same graph (after attention surgery) and the same token
 * ids, in one invocation. Two models: the bundled one at 16, 64 and 256 tokens, and a
 * BERT-base-sized encoder with random weights (made here, tools/bert-base-model.ts) at 128 and 512.
 *
 * Each side runs in its own process so that its peak memory is its own: a fresh Chromium per
 * model (the page's renderer process is measured) and a child Node process per model for the
 * reference. Peak memory is the kernel's high-water mark of resident memory (VmHWM).
 * Run times are medians of 10 runs after a warm-up (WebAssembly tiers up over its first runs).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { launchChromium } from '../test/support/chromium';
import { ROOT } from '../test/support/paths';
import { serve } from '../test/support/static-server';
import { exposeAttention } from '../src/engine/attention-graph';
import { BERT_BASE } from './bert-base-model';
import { timeRuns } from './bench-timing';
import { MiB, rendererPids, vmHwm, vmRss } from './bench-memory';
import { benchVsCode } from './bench-vscode';
import { panelStages } from './bench-panel';
import { benchHeadScores } from './bench-head-scores';
import { benchViews } from './bench-views';
import { benchLlm } from './bench-llm';
import { benchPredict } from './bench-predict';
import { bertBaseFile, bertBaseFolder } from './bench-bert-folder';

const RUNS = 10;
const WARMUP_MS = 2000;

interface Case {
  title: string;
  file: string;
  /** Where the page fetches it. */
  url: string;
  lengths: number[];
  /** Token ids: the same for both sides. */
  ids: (n: number) => number[];
  webgpu: boolean;
}

interface Row {
  tokens: number;
  runMs: number;
  firstMs?: number;
  summariseMs?: number;
  attentionBytes?: number;
  summaryBytes?: number;
}
interface SideResult {
  createMs: number;
  surgeryMs?: number;
  fetchMs?: number;
  backend?: string;
  rows: Row[];
  baselineBytes: number;
  peakBytes: number;
}

/** The reference side, in a child process: `node bench.js --native FILE IDS_JSON`. */
async function nativeChild(file: string, idLists: number[][]): Promise<void> {
  const baselineBytes = process.memoryUsage().rss;
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(file)));
  const t = performance.now();
  const session = await ortNode.InferenceSession.create(graph.bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const createMs = performance.now() - t;
  const rows: Row[] = [];
  for (const ids of idLists) {
    const n = ids.length;
    const tensor = (v: number[]) => new ortNode.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, n]);
    const feeds: Record<string, ortNode.Tensor> = {};
    for (const name of session.inputNames) {
      if (/input_ids$/.test(name)) feeds[name] = tensor(ids);
      else if (/attention_mask$/.test(name)) feeds[name] = tensor(ids.map(() => 1));
      else if (/token_type_ids$/.test(name)) feeds[name] = tensor(ids.map(() => 0));
      else throw new Error(`bench: no feed for ${name}`);
    }
    const timed = await timeRuns(() => session.run(feeds), WARMUP_MS, RUNS);
    rows.push({ tokens: n, runMs: timed.medianMs, firstMs: timed.firstMs });
  }
  await session.release();
  const result: SideResult = { createMs, rows, baselineBytes, peakBytes: vmHwm(process.pid) };
  process.stdout.write(JSON.stringify(result));
}

function native(c: Case): SideResult {
  const idsFile = path.join(ROOT, '.bench', 'ids.json');
  fs.writeFileSync(idsFile, JSON.stringify(c.lengths.map(c.ids)));
  const r = spawnSync(process.execPath, [__filename, '--native', c.file, idsFile], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`the onnxruntime-node reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SideResult;
}

async function browserSide(c: Case, serverUrl: string, backend: 'wasm' | 'webgpu'): Promise<SideResult> {
  // A headless page counts as hidden: without these its timers may be throttled, which adds a
  // frame's worth of waiting to short runs.
  const browser = await launchChromium([
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ]);
  try {
    const page = await browser.newPage();
    await page.goto(`${serverUrl}/bench.html`);
    await page.waitForFunction(() => document.title === 'bench ready');
    const pids = await rendererPids(browser);
    const baselineBytes = Math.max(...pids.map(vmRss));
    const r = await page.evaluate(
      ([url, idLists, b, runs, warm]) =>
        (window as unknown as { bench: (...a: unknown[]) => Promise<SideResult> }).bench(url, idLists, b, runs, warm),
      [c.url, c.lengths.map(c.ids), backend, RUNS, WARMUP_MS] as const,
    );
    return { ...r, baselineBytes, peakBytes: Math.max(...pids.map(vmHwm)) };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'vscode') return benchVsCode();
  if (process.argv[2] === 'heads') return benchHeadScores();
  if (process.argv[2] === 'views') return benchViews();
  if (process.argv[2] === 'llm') return benchLlm();
  if (process.argv[2] === 'predict') return benchPredict();
  if (process.argv[2] === 'vscode-bert') {
    fs.mkdirSync(path.join(ROOT, '.bench'), { recursive: true });
    return benchVsCode({
      folder: bertBaseFolder(),
      title: `the BERT-base-sized encoder (${MiB(fs.statSync(bertBaseFile()).size)})`,
    });
  }
  fs.mkdirSync(path.join(ROOT, '.bench'), { recursive: true });
  const server = await serve(
    {
      '/dist/': path.join(ROOT, 'dist'),
      '/media/': path.join(ROOT, 'media'),
      '/bench-files/': path.join(ROOT, '.bench'),
    },
    {
      '/bench.html': '<html><body><script type="module" src="/dist/test-browser/bench-page.js"></script></body></html>',
    },
  );
  const only = process.argv[2];
  const all: Case[] = [
    {
      title: 'bundled model code-prose-gpt (4 layers × 8 heads, hidden 256, decoder)',
      file: path.join(ROOT, 'media', 'model', 'model.onnx'),
      url: `${server.url}/media/model/model.onnx`,
      lengths: [16, 64, 256],
      ids: (n) => Array.from({ length: n }, (_, i) => 100 + ((i * 7919) % 7000)),
      webgpu: true,
    },
    {
      title: `BERT-base-sized encoder, random weights (${BERT_BASE.layers} layers × ${BERT_BASE.heads} heads, hidden ${BERT_BASE.hidden}, made by the benchmark)`,
      file: bertBaseFile(),
      url: `${server.url}/bench-files/bert-base-random.onnx`,
      lengths: [128, 512],
      ids: (n) => [101, ...Array.from({ length: n - 2 }, (_, i) => 1000 + ((i * 7919) % 28000)), 102],
      webgpu: false,
    },
  ];
  const cases = all.filter((c) => !only || c.title.toLowerCase().includes(only.toLowerCase()));
  try {
    for (const c of cases) {
      const wasm = await browserSide(c, server.url, 'wasm');
      const gpu = c.webgpu ? await browserSide(c, server.url, 'webgpu') : undefined;
      const nat = native(c);
      console.log('');
      console.log(`### ${c.title}`);
      console.log(
        `medians of ${RUNS} runs after a ${WARMUP_MS / 1000} s warm-up; graph surgery ${wasm.surgeryMs?.toFixed(0)} ms in the page`,
      );
      console.log('');
      console.log(
        `| tokens | onnxruntime-node, 1 thread | wasm, 1 thread | wasm / native |${gpu ? ` WebGPU (${gpu.backend === 'webgpu' ? 'this adapter' : 'no adapter: ran on wasm'}) |` : ''} first wasm run | summarise | attention bytes | bytes to the host | ratio |`,
      );
      console.log(`| ---: | ---: | ---: | ---: |${gpu ? ' ---: |' : ''} ---: | ---: | ---: | ---: | ---: |`);
      c.lengths.forEach((n, i) => {
        const w = wasm.rows[i];
        const nr = nat.rows[i];
        const g = gpu?.rows[i];
        const a = w.attentionBytes ?? 0;
        const h = w.summaryBytes ?? 1;
        console.log(
          `| ${n} | ${nr.runMs.toFixed(2)} ms | ${w.runMs.toFixed(2)} ms | ${(w.runMs / nr.runMs).toFixed(2)}× |${g ? ` ${g.runMs.toFixed(0)} ms |` : ''} ${w.firstMs?.toFixed(0)} ms | ${w.summariseMs?.toFixed(1)} ms | ${a.toLocaleString('en')} | ${h.toLocaleString('en')} | ${(a / h).toFixed(0)}∶1 |`,
        );
      });
      console.log('');
      if (c.lengths[0] <= 16)
        console.log(
          `fixed overhead at ${c.lengths[0]} tokens (wasm − native): ${(wasm.rows[0].runMs - nat.rows[0].runMs).toFixed(2)} ms`,
        );
      console.log(
        `session creation: wasm ${wasm.createMs.toFixed(0)} ms${gpu ? `, WebGPU ${gpu.createMs.toFixed(0)} ms` : ''}, onnxruntime-node ${nat.createMs.toFixed(0)} ms (model fetch into the page ${wasm.fetchMs?.toFixed(0)} ms)`,
      );
      console.log(
        `peak memory: Chromium renderer ${MiB(wasm.peakBytes)} (${MiB(wasm.baselineBytes)} before the model), onnxruntime-node process ${MiB(nat.peakBytes)} (${MiB(nat.baselineBytes)} before); model file ${MiB(fs.statSync(c.file).size)}`,
      );
    }
    if (!only || 'panel'.includes(only)) {
      await panelStages(server.url, false);
      await panelStages(server.url, true);
    }
    if (!only) await benchHeadScores();
  } finally {
    await server.close();
  }
}

if (process.argv[2] === '--native') {
  nativeChild(process.argv[3], JSON.parse(fs.readFileSync(process.argv[4], 'utf8')) as number[][]).catch(
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
