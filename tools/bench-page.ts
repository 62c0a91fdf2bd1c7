/**
 * The benchmark's browser side: the webview's engine code on a page served from 127.0.0.1, timed
 * stage by stage. Driven by tools/bench.ts, which passes the token ids so that the reference run
 * gets the same ones.
 */
import { summarise } from '../src/common/analysis';
import { AttentionStore } from '../src/common/attention-store';
import type { BackendSetting } from '../src/common/protocol';
import { exposeAttention } from '../src/engine/attention-graph';
import { AttentionSession } from '../src/engine/session';
import { setUpRuntime } from '../src/engine/runtime-init';
import { timeRuns } from './bench-timing';

setUpRuntime({ wasmPaths: '/dist/webview/ort/' });

async function bench(modelUrl: string, idLists: number[][], backend: BackendSetting, runs: number, warmupMs: number) {
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const fetchMs = performance.now() - t0;
  let t = performance.now();
  const graph = exposeAttention(bytes);
  const surgeryMs = performance.now() - t;
  t = performance.now();
  const session = await AttentionSession.create(graph, [], backend);
  const createMs = performance.now() - t;
  const rows = [];
  for (const ids of idLists) {
    const n = ids.length;
    const timed = await timeRuns(() => session.run(ids), warmupMs, runs);
    const out = timed.last;
    const store = new AttentionStore([{ start: 0, length: n, layers: out.layers }], out.layers.length, out.heads);
    const s0 = performance.now();
    const summary = summarise(store, { layer: 0, head: 'mean' }, 16);
    const summariseMs = performance.now() - s0;
    rows.push({
      tokens: n,
      firstMs: timed.firstMs,
      runMs: timed.medianMs,
      summariseMs,
      attentionBytes: out.layers.reduce((s, l) => s + l.byteLength, 0),
      summaryBytes: JSON.stringify(summary).length,
    });
  }
  await session.release();
  return { backend: session.backend, fetchMs, surgeryMs, createMs, rows };
}

/**
 * A large model as the panel loads it: the graph and its external data fetched, surgery, a
 * WebAssembly session, then runs of one window. Failures (out of memory) are returned, not thrown:
 * whether it fits is one of the answers.
 */
async function llmBench(graphUrl: string, external: { path: string; url: string }[], ids: number[], runs: number) {
  const stage = { name: 'fetch' };
  try {
    let t = performance.now();
    const bytes = new Uint8Array(await (await fetch(graphUrl)).arrayBuffer());
    const externalData = [];
    for (const f of external)
      externalData.push({ path: f.path, data: new Uint8Array(await (await fetch(f.url)).arrayBuffer()) });
    const fetchMs = performance.now() - t;
    stage.name = 'surgery';
    t = performance.now();
    const graph = exposeAttention(bytes);
    const surgeryMs = performance.now() - t;
    stage.name = 'session';
    t = performance.now();
    const session = await AttentionSession.create(graph, externalData, 'wasm');
    const createMs = performance.now() - t;
    stage.name = 'run';
    const times: number[] = [];
    let layers = 0;
    for (let i = 0; i < runs; i++) {
      t = performance.now();
      const out = await session.run(ids);
      times.push(performance.now() - t);
      layers = out.layers.length;
    }
    await session.release();
    return { ok: true as const, fetchMs, surgeryMs, createMs, times, layers };
  } catch (e) {
    return { ok: false as const, stage: stage.name, error: (e as Error).message.slice(0, 300) };
  }
}

/**
 * What keeping the language-model head costs: a run of the panel's graph (head pruned, attention
 * fetched) against a run of the graph that keeps it, fetching the logits (which needs every layer).
 */
async function predictBench(modelUrl: string, ids: number[], runs: number, warmupMs: number) {
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const plain = await AttentionSession.create(exposeAttention(bytes), [], 'wasm');
  const withHead = await AttentionSession.create(exposeAttention(bytes, { logits: true }), [], 'wasm');
  const attention = await timeRuns(() => plain.run(ids), warmupMs, runs);
  const headAttention = await timeRuns(() => withHead.run(ids), warmupMs, runs);
  const logits = await timeRuns(() => withHead.runLogits(ids), warmupMs, runs);
  // What the panel pays with predictions on: the attention and the logits from one run.
  const both = await timeRuns(() => withHead.run(ids, undefined, { logits: true }), warmupMs, runs);
  await withHead.release();
  // The graph with the interventions' inputs, running one: a head knocked out, a token hidden.
  const intervening = await AttentionSession.create(exposeAttention(bytes, { interventions: true }), [], 'wasm');
  const intervention = { heads: [{ layer: 3, head: 7 }], hiddenTokens: [1] };
  const intervened = await timeRuns(() => intervening.run(ids, intervention), warmupMs, runs);
  // What every panel run pays now that the panel's graph takes interventions: its plain pass.
  const ready = await timeRuns(() => intervening.run(ids), warmupMs, runs);
  await intervening.release();
  await plain.release();
  return {
    attentionMs: attention.medianMs,
    headAttentionMs: headAttention.medianMs,
    logitsMs: logits.medianMs,
    bothMs: both.medianMs,
    intervenedMs: intervened.medianMs,
    readyMs: ready.medianMs,
  };
}

/**
 * What an intervention costs on a model without a language-model head (the BERT-base-sized
 * encoder): a plain run of the panel's graph as it was, the plain pass of the graph that takes
 * interventions, and a run with one (a head out, a token hidden).
 */
async function interventionBench(modelUrl: string, ids: number[], runs: number, warmupMs: number) {
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const plain = await AttentionSession.create(exposeAttention(bytes), [], 'wasm');
  const attention = await timeRuns(() => plain.run(ids), warmupMs, runs);
  await plain.release();
  const intervening = await AttentionSession.create(exposeAttention(bytes, { interventions: true }), [], 'wasm');
  const ready = await timeRuns(() => intervening.run(ids), warmupMs, runs);
  const intervention = { heads: [{ layer: 5, head: 3 }], hiddenTokens: [1] };
  const intervened = await timeRuns(() => intervening.run(ids, intervention), warmupMs, runs);
  await intervening.release();
  return { attentionMs: attention.medianMs, readyMs: ready.medianMs, intervenedMs: intervened.medianMs };
}

(window as unknown as { interventionBench: typeof interventionBench }).interventionBench = interventionBench;
(window as unknown as { predictBench: typeof predictBench }).predictBench = predictBench;
(window as unknown as { bench: typeof bench; llmBench: typeof llmBench }).bench = bench;
(window as unknown as { llmBench: typeof llmBench }).llmBench = llmBench;
document.title = 'bench ready';
