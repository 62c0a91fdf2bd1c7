/**
 * `npm run bench -- predict`: what the next-token predictions cost beside the attention, in the
 * panel's engine (onnxruntime-web, WebAssembly, one thread, headless Chromium), bundled model.
 */
import * as path from 'node:path';
import { launchChromium } from '../test/support/chromium';
import { ROOT } from '../test/support/paths';
import { serve } from '../test/support/static-server';
import { bertBaseFile } from './bench-bert-folder';

const RUNS = 10;
const WARMUP_MS = 2000;

export async function benchPredict(): Promise<void> {
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
  const browser = await launchChromium(['--disable-renderer-backgrounding', '--disable-background-timer-throttling']);
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench.html`);
    await page.waitForFunction(() => document.title === 'bench ready');
    console.log('');
    console.log(`### Predictions beside the attention (bundled model, WebAssembly, medians of ${RUNS} runs)`);
    console.log('');
    console.log(
      '| tokens | attention (head pruned) | attention, graph keeping the head | logits | logits / attention | attention and logits in one run | one run / attention | attention with an intervention (a head out, a token hidden) | intervention / attention | plain pass of the graph taking interventions (the panel’s) | / attention |',
    );
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const n of [64, 256]) {
      const ids = Array.from({ length: n }, (_, i) => 100 + ((i * 7919) % 7000));
      const r = await page.evaluate(
        ([url, tokenIds, runs, warm]) =>
          (
            window as unknown as {
              predictBench: (...a: unknown[]) => Promise<{
                attentionMs: number;
                headAttentionMs: number;
                logitsMs: number;
                bothMs: number;
                intervenedMs: number;
                readyMs: number;
              }>;
            }
          ).predictBench(url, tokenIds, runs, warm),
        [`${server.url}/media/model/model.onnx`, ids, RUNS, WARMUP_MS] as const,
      );
      console.log(
        `| ${n} | ${r.attentionMs.toFixed(1)} ms | ${r.headAttentionMs.toFixed(1)} ms | ${r.logitsMs.toFixed(1)} ms | ${(r.logitsMs / r.attentionMs).toFixed(2)}× | ${r.bothMs.toFixed(1)} ms | ${(r.bothMs / r.attentionMs).toFixed(2)}× | ${r.intervenedMs.toFixed(1)} ms | ${(r.intervenedMs / r.attentionMs).toFixed(2)}× | ${r.readyMs.toFixed(1)} ms | ${(r.readyMs / r.attentionMs).toFixed(2)}× |`,
      );
    }
    // The BERT-base-sized encoder at 512 tokens: no logits, so the intervention's cost on the attention alone.
    bertBaseFile();
    const ids = [101, ...Array.from({ length: 510 }, (_, i) => 1000 + ((i * 7919) % 28000)), 102];
    const b = await page.evaluate(
      ([url, tokenIds, runs, warm]) =>
        (
          window as unknown as {
            interventionBench: (
              ...a: unknown[]
            ) => Promise<{ attentionMs: number; readyMs: number; intervenedMs: number }>;
          }
        ).interventionBench(url, tokenIds, runs, warm),
      [`${server.url}/bench-files/bert-base-random.onnx`, ids, 3, 0] as const,
    );
    console.log('');
    console.log('### Interventions on the BERT-base-sized encoder (512 tokens, WebAssembly, medians of 3 runs)');
    console.log('');
    console.log(
      '| plain run | plain pass of the graph taking interventions | / plain | with an intervention (a head out, a token hidden) | / plain |',
    );
    console.log('| ---: | ---: | ---: | ---: | ---: |');
    console.log(
      `| ${b.attentionMs.toFixed(0)} ms | ${b.readyMs.toFixed(0)} ms | ${(b.readyMs / b.attentionMs).toFixed(2)}× | ${b.intervenedMs.toFixed(0)} ms | ${(b.intervenedMs / b.attentionMs).toFixed(2)}× |`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}
