/**
 * `npm run bench -- llm`: a decoder with the shape of a 0.5B-parameter LLM (test/support/gqa-decoder.ts),
 * float32 and 4-bit, loaded and run as the panel's worker does (onnxruntime-web, WebAssembly, one
 * thread, in headless Chromium) on one window of 256 tokens: whether it fits at all, the time to
 * load and to run, the renderer's peak memory — and beside them what the memory estimate that
 * Choose Model uses said before loading.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { estimateMemory, formatBytes } from '../src/common/memory-estimate';
import { launchChromium } from '../test/support/chromium';
import { ROOT } from '../test/support/paths';
import { serve } from '../test/support/static-server';
import { MiB, rendererPids, vmHwm, vmRss } from './bench-memory';
import { buildGqaDecoder, DECODER_05B, type DecoderVariant } from '../test/support/gqa-decoder';

const TOKENS = 256;
const RUNS = 3;

type LlmResult =
  | { ok: true; fetchMs: number; surgeryMs: number; createMs: number; times: number[]; layers: number }
  | { ok: false; stage: string; error: string };

export async function benchLlm(): Promise<void> {
  const dir = path.join(ROOT, '.bench');
  const server = await serve(
    { '/dist/': path.join(ROOT, 'dist'), '/bench-files/': dir },
    {
      '/bench.html': '<html><body><script type="module" src="/dist/test-browser/bench-page.js"></script></body></html>',
    },
  );
  const ids = Array.from({ length: TOKENS }, (_, i) => 1000 + ((i * 7919) % 150000));
  const rows: string[] = [];
  try {
    for (const variant of ['q4', 'fp32'] as DecoderVariant[]) {
      const t = performance.now();
      const built = buildGqaDecoder(dir, `decoder-0.5b-${variant}`, DECODER_05B, variant);
      const buildMs = performance.now() - t;
      const bytes = [built.graph, ...built.externalData.map((f) => path.join(dir, f))].reduce(
        (s, f) => s + fs.statSync(f).size,
        0,
      );
      const estimate = estimateMemory(bytes, DECODER_05B, TOKENS);
      console.log(`${variant}: ${formatBytes(bytes)} (made in ${(buildMs / 1000).toFixed(0)} s, or found in .bench/)`);
      const browser = await launchChromium(['--disable-renderer-backgrounding']);
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}/bench.html`);
        await page.waitForFunction(() => document.title === 'bench ready');
        const pids = await rendererPids(browser);
        const before = Math.max(...pids.map(vmRss));
        const r = await page
          .evaluate(
            ([graph, external, tokenIds, runs]) =>
              (window as unknown as { llmBench: (...a: unknown[]) => Promise<LlmResult> }).llmBench(
                graph,
                external,
                tokenIds,
                runs,
              ),
            [
              `${server.url}/bench-files/${path.basename(built.graph)}`,
              built.externalData.map((f) => ({ path: f, url: `${server.url}/bench-files/${f}` })),
              ids,
              RUNS,
            ] as const,
          )
          .catch((e: unknown): LlmResult => ({ ok: false, stage: 'page', error: (e as Error).message.slice(0, 200) }));
        const peak = Math.max(...pids.map(vmHwm));
        const estimateCell = `${formatBytes(estimate.total)} (${estimate.fits ? 'fits' : 'refused'})`;
        if (r.ok) {
          const sorted = [...r.times].sort((a, b) => a - b);
          rows.push(
            `| ${variant} | ${formatBytes(bytes)} | ${estimateCell} | yes | ${(r.fetchMs / 1000).toFixed(1)} s | ${(r.surgeryMs / 1000).toFixed(1)} s | ${(r.createMs / 1000).toFixed(1)} s | ${(r.times[0] / 1000).toFixed(1)} s | ${(sorted[sorted.length >> 1] / 1000).toFixed(1)} s | ${MiB(peak)} (${MiB(before)} before) |`,
          );
        } else {
          rows.push(
            `| ${variant} | ${formatBytes(bytes)} | ${estimateCell} | no: ${r.stage} failed (${r.error.replace(/\|/g, '/')}) | | | | | | ${MiB(peak)} (${MiB(before)} before) |`,
          );
        }
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
  console.log('');
  console.log(
    `### A 0.5B-parameter decoder (${DECODER_05B.layers} layers × ${DECODER_05B.heads} heads, ${DECODER_05B.kvHeads} key/value heads, hidden ${DECODER_05B.hidden}; GroupQueryAttention with rotary inside), ${TOKENS} tokens, WebAssembly, one thread`,
  );
  console.log('');
  console.log(
    '| variant | weights | estimate before loading | loads and runs | fetch | surgery | session | first run | median run | renderer peak |',
  );
  console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(
    `(median of ${RUNS} runs, the first included; WebGPU not measured: this machine's only adapter is a software one)`,
  );
}
