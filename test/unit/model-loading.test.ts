/**
 * What the panel's first load rests on, under plain Node: the prepared-graph file its cache holds
 * (accepted only whole, of this surgery version, for this model), the engine loading a model from
 * bytes (from the model file or from that cache), the backend plan made before a runtime loads,
 * the page↔worker messages' validation, the files the page may ask the host for, and the model's
 * content hash.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isPageFile, parseHostMessage, parseWebviewMessage } from '../../src/common/protocol-validation';
import { exposeAttention } from '../../src/engine/attention-graph';
import { backendPlan } from '../../src/engine/backend-plan';
import { ModelEngine, type EngineStage } from '../../src/engine/model-engine';
import {
  decodePreparedGraph,
  encodePreparedGraph,
  PreparedGraphError,
  SURGERY_VERSION,
} from '../../src/engine/prepared-graph-file';
import { setUpRuntime } from '../../src/engine/runtime-init';
import { contentHash } from '../../src/host/content-hash';
import { parsePageMessage, parseWorkerMessage } from '../../webview/worker-protocol';
import { FIXTURES, ROOT, maxAbsDiff, readReference } from '../support/paths';
import { bertWithMlmHead, writeMlmFolder } from '../support/mlm-model';
import { bertTokenizerJson } from '../support/tokenizers';

setUpRuntime();
const CLI = path.join(ROOT, 'dist', 'cli.js');
const fixture = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIXTURES, f)));

test('a prepared graph survives its cache file: same graph bytes, same attention outputs, fused Q/K biases included', () => {
  const graph = exposeAttention(fixture('bert.onnx'));
  const file = encodePreparedGraph(graph, 'abc');
  const back = decodePreparedGraph(file, 'abc');
  assert.deepEqual(Buffer.from(back.bytes), Buffer.from(graph.bytes));
  const { bytes: _a, ...info } = graph;
  const { bytes: _b, ...infoBack } = back;
  assert.deepEqual(infoBack, info);
  // Float32Arrays (the packed-attention path's biases) come back as Float32Arrays.
  const withBias = {
    ...graph,
    attention: [
      {
        layerName: 'x',
        source: {
          kind: 'fused' as const,
          op: 'Attention',
          output: 'y',
          query: 'q',
          key: 'k',
          queryBias: Float32Array.from([1.5, -2]),
          spec: { qHeads: 2, kvHeads: 2, scale: 0, causal: false },
        },
      },
    ],
  };
  const src = decodePreparedGraph(encodePreparedGraph(withBias, 'h'), 'h').attention[0].source;
  assert.ok(src.kind === 'fused' && src.queryBias instanceof Float32Array);
  assert.deepEqual(Array.from(src.kind === 'fused' ? (src.queryBias ?? []) : []), [1.5, -2]);
});

test('a cached prepared graph that is cut short, of another surgery version, for another model or not one at all is refused', () => {
  const file = encodePreparedGraph(exposeAttention(fixture('gpt2.onnx')), 'model-a');
  assert.throws(
    () => decodePreparedGraph(file.subarray(0, file.length - 10), 'model-a'),
    (e: Error) => e instanceof PreparedGraphError && /cut short/.test(e.message),
  );
  assert.throws(() => decodePreparedGraph(file.subarray(0, 30), 'model-a'), PreparedGraphError);
  assert.throws(() => decodePreparedGraph(file, 'model-b'), /another model/);
  const older = file.slice();
  new DataView(older.buffer).setUint32(4, SURGERY_VERSION + 1, true);
  assert.throws(() => decodePreparedGraph(older, 'model-a'), /surgery version/);
  assert.throws(() => decodePreparedGraph(fixture('gpt2.onnx'), 'model-a'), /not a prepared graph/);
  const garbled = file.slice();
  garbled.fill(0x7b, 12, 40);
  assert.throws(() => decodePreparedGraph(garbled, 'model-a'), PreparedGraphError);
});

test('the engine loads a model from bytes, stage by stage, and gives the same attention from the model file and from its cached prepared graph', async () => {
  const ref = readReference('bert');
  const stages: EngineStage[] = [];
  let cached: Uint8Array | undefined;
  const first = new ModelEngine((s) => stages.push(s));
  first.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  await first.loadModel({ name: 'bert', graph: fixture('bert.onnx'), external: async () => [] }, 'auto', {
    onPrepared: (g) => (cached = encodePreparedGraph(g, 'bert-hash')),
  });
  assert.deepEqual(stages, ['tokenizer', 'surgery', 'session', 'warm-up']);
  assert.ok(cached, 'the prepared graph was handed out for the cache');

  const second = new ModelEngine((s) => stages.push(s));
  second.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  stages.length = 0;
  await second.loadModel(
    { name: 'bert', graph: decodePreparedGraph(cached, 'bert-hash'), external: async () => [] },
    'auto',
  );
  assert.deepEqual(stages, ['session', 'warm-up'], 'no surgery for a cached graph');

  for (const engine of [first, second]) {
    const r = await engine.analyse('the cat sat', 512);
    assert.equal(r.backend, 'wasm');
    assert.deepEqual(
      r.tokens.map((t) => t.text),
      ['[CLS]', 'the', 'cat', 'sat', '[SEP]'],
    );
    await engine.release();
  }
  // The same session path, on the fixture's own ids, against Hugging Face's numbers.
  const engine = new ModelEngine();
  engine.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  const session = await engine.loadModel(
    { name: 'bert', graph: decodePreparedGraph(cached, 'bert-hash'), external: async () => [] },
    'wasm',
  );
  const out = await session.run(ref.input_ids[0]);
  assert.ok(maxAbsDiff(out.layers, ref.attentions) < 1e-4);
  await engine.release();
});

test('with a request already waiting the load skips its warm-up run, unless predictions need to know first whether the model attends both ways', async () => {
  const stages: EngineStage[] = [];
  const plain = new ModelEngine((s) => stages.push(s));
  plain.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  await plain.loadModel({ name: 'bert', graph: fixture('bert.onnx'), external: async () => [] }, 'wasm', {
    warmUp: () => false,
  });
  assert.deepEqual(stages, ['tokenizer', 'surgery', 'session']);
  const r = await plain.analyse('the cat sat', 512);
  assert.equal(r.tokens.length, 5);
  assert.equal(r.model.causal, false);
  await plain.release();

  // With predictions, the warm-up says the masked model attends both ways: each token is masked.
  stages.length = 0;
  const mlm = new ModelEngine((s) => stages.push(s));
  mlm.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat'], { mask: true }), tokenizerConfig: null, config: null });
  await mlm.loadModel({ name: 'bert-mlm', graph: bertWithMlmHead(), external: async () => [] }, 'wasm', {
    logits: true,
    warmUp: () => false,
  });
  assert.deepEqual(stages, ['tokenizer', 'surgery', 'session', 'warm-up']);
  assert.equal((await mlm.analyse('the cat sat', 512, { predictions: true })).predictionKind, 'masked');
  await mlm.release();
});

test('external data is asked for by the names the graph gives, once the graph is parsed', async () => {
  const engine = new ModelEngine();
  const asked: string[][] = [];
  await engine.loadModel(
    {
      name: 'llama',
      graph: fixture('llama-dynamo.onnx'),
      external: async (files) => (asked.push(files), files.map((f) => ({ path: f, data: fixture(f) }))),
    },
    'wasm',
  );
  assert.deepEqual(asked, [['llama-dynamo.onnx.data']]);
  await engine.release();
});

test('the backend is planned before any runtime loads: WebAssembly unless WebGPU will really be used, with the reason', () => {
  const hardware = { software: false, name: 'nvidia ampere' };
  const software = { software: true, name: 'google swiftshader' };
  assert.deepEqual(backendPlan('wasm', hardware), { backend: 'wasm', note: null });
  assert.deepEqual(backendPlan('auto', null), { backend: 'wasm', note: null });
  assert.deepEqual(backendPlan('auto', hardware), { backend: 'webgpu', note: null });
  assert.deepEqual(backendPlan('webgpu', software), { backend: 'webgpu', note: null });
  assert.match(
    backendPlan('auto', software).note ?? '',
    /software renderer \(google swiftshader\).*running on WebAssembly/,
  );
  assert.match(backendPlan('webgpu', null).note ?? '', /No WebGPU adapter/);
});

test('page↔worker messages of the wrong shape are refused, each type by its own validator', () => {
  const wasm = new ArrayBuffer(8);
  assert.ok(parsePageMessage({ type: 'runtime', wasm, threads: 2, cacheAs: null }).ok);
  assert.ok(parsePageMessage({ type: 'runtime', wasm, threads: 1, cacheAs: 'wasm/abc' }).ok);
  assert.equal(parsePageMessage({ type: 'runtime', wasm: [1, 2], threads: 1, cacheAs: null }).ok, false);
  assert.equal(parsePageMessage({ type: 'runtime', wasm, threads: 0, cacheAs: null }).ok, false);
  assert.equal(parsePageMessage({ type: 'runtime', wasm, threads: 1 }).ok, false);
  assert.ok(parsePageMessage({ type: 'requestWaiting' }).ok);
  assert.ok(parseWorkerMessage({ type: 'runtimeCached', cached: true }).ok);
  assert.equal(parseWorkerMessage({ type: 'runtimeCached' }).ok, false);
  assert.ok(
    parsePageMessage({
      type: 'model',
      name: 'm',
      graph: wasm,
      prepared: false,
      sourceHash: null,
      setting: 'auto',
      note: null,
      logits: false,
    }).ok,
  );
  assert.equal(
    parsePageMessage({
      type: 'model',
      name: 'm',
      graph: wasm,
      prepared: 'yes',
      sourceHash: null,
      setting: 'auto',
      note: null,
      logits: false,
    }).ok,
    false,
  );
  assert.equal(parsePageMessage({ type: 'analyse', id: -1, text: 'x', maxTokens: 5, predictions: false }).ok, false);
  const analyse = {
    type: 'analyse',
    id: 1,
    text: 'x',
    maxTokens: 5,
    predictions: true,
    intervention: null,
  };
  assert.ok(parsePageMessage(analyse).ok);
  const intervention = { heads: [{ layer: 0, head: 2 }], hiddenTokens: [4] };
  assert.ok(parsePageMessage({ ...analyse, intervention }).ok);
  assert.equal(parsePageMessage({ ...analyse, intervention: { heads: [{ layer: 0 }], hiddenTokens: [] } }).ok, false);
  assert.equal(parsePageMessage({ ...analyse, intervention: undefined }).ok, false);
  assert.equal(parsePageMessage({ type: 'analyse', id: 1, text: 'x', maxTokens: 5 }).ok, false);
  assert.match(
    parsePageMessage({ type: 'explode' }).ok ? '' : (parsePageMessage({ type: 'explode' }) as { error: string }).error,
    /unknown message type "explode"/,
  );
  assert.equal(parsePageMessage('analyse').ok, false);
  const result = {
    type: 'result',
    id: 1,
    tokens: [],
    windows: [{ start: 0, length: 2, lead: [], trail: [], layers: [new Float32Array(4)] }],
    layers: 1,
    heads: 1,
    model: {},
    backend: 'wasm',
    backendNote: null,
    runMs: 1,
    analysedEnd: 2,
    truncated: false,
    offsetsNote: null,
    predictions: null,
    predictionKind: null,
    predictionsNote: null,
    tokenizerId: '1a2b3c4d',
    intervention: null,
    timings: {},
  };
  assert.ok(parseWorkerMessage(result).ok);
  // A run with an intervention carries what it changed: per token (with predictions) and per head.
  const effects = { perToken: [{ deltaSurprisal: 0.5, kl: 0.1 }], heads: [{ layer: 0, head: 1, change: 0.2 }] };
  assert.ok(parseWorkerMessage({ ...result, intervention: { ...intervention, effects } }).ok);
  assert.ok(
    parseWorkerMessage({ ...result, intervention: { ...intervention, effects: { ...effects, perToken: null } } }).ok,
  );
  assert.equal(parseWorkerMessage({ ...result, intervention }).ok, false, 'an intervention without its effects');
  assert.equal(parseWorkerMessage({ ...result, tokenizerId: undefined }).ok, false);
  const predictions = [
    { logprob: -1.5, top: [{ id: 3, text: 'a', p: 0.2 }] },
    { logprob: null, top: [] },
  ];
  assert.ok(parseWorkerMessage({ ...result, predictions, predictionKind: 'next-token' }).ok);
  assert.ok(parseWorkerMessage({ ...result, predictions, predictionKind: 'masked' }).ok);
  assert.equal(parseWorkerMessage({ ...result, predictions, predictionKind: 'sideways' }).ok, false);
  assert.equal(parseWorkerMessage({ ...result, predictions: [{ logprob: 'low', top: [] }] }).ok, false);
  assert.equal(parseWorkerMessage({ ...result, predictions: [{ logprob: -1, top: [{ id: 3, p: 0.2 }] }] }).ok, false);
  assert.equal(
    parseWorkerMessage({ ...result, windows: [{ start: 0, length: 2, lead: [], trail: [], layers: [[0.5, 0.5]] }] }).ok,
    false,
    'attention must arrive as typed arrays',
  );
  assert.ok(parseWorkerMessage({ type: 'stage', stage: 'runtime', ms: 3 }).ok);
  assert.equal(parseWorkerMessage({ type: 'stage', stage: 'coffee', ms: 3 }).ok, false);
  assert.ok(parseWorkerMessage({ type: 'error', id: null, message: 'x', broken: false }).ok);
});

test('the page may ask the host for the graph and the runtime, and nothing else', () => {
  for (const ok of ['model', 'runtime:wasm', 'runtime:webgpu']) assert.ok(isPageFile(ok), ok);
  for (const bad of ['external:model.onnx_data', '../model.onnx', '/etc/passwd', 'tokenizer', 'runtime:cuda', 42])
    assert.equal(isPageFile(bad), false, String(bad));
  assert.ok(parseWebviewMessage({ type: 'readFile', file: 'model' }).ok);
  assert.equal(parseWebviewMessage({ type: 'readFile', file: '../../.ssh/id_rsa' }).ok, false);
  const file = parseHostMessage({ type: 'file', file: 'model', data: new Uint8Array([1, 2]).buffer });
  assert.ok(file.ok && file.message.type === 'file' && file.message.data instanceof Uint8Array);
  assert.equal(parseHostMessage({ type: 'file', file: 'model', data: [1, 2] }).ok, false);
  assert.ok(parseWebviewMessage({ type: 'superseded', requestId: 3 }).ok);
});

test("the model's content hash is its SHA-256, and a file replaced with other bytes of the same size gets a new one", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-hash-'));
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, 'a'.repeat(1000));
  const first = await contentHash(file);
  assert.equal(first, createHash('sha256').update('a'.repeat(1000)).digest('hex'));
  const { mtime } = fs.statSync(file);
  // A download replaces the file by renaming a finished one over it, as the Hub downloader does.
  fs.writeFileSync(`${file}.part`, 'b'.repeat(1000));
  fs.utimesSync(`${file}.part`, mtime, mtime);
  fs.renameSync(`${file}.part`, file);
  assert.notEqual(await contentHash(file), first);
  await assert.rejects(contentHash(path.join(dir, 'missing.onnx')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('predictions asked of an encoder (no logits): the panel gets the attention and a note naming its outputs', async () => {
  const engine = new ModelEngine();
  engine.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  await engine.loadModel({ name: 'bert', graph: fixture('bert.onnx'), external: async () => [] }, 'wasm', {
    logits: true,
  });
  const r = await engine.analyse('the cat sat', 512, { predictions: true });
  assert.equal(r.tokens.length, 5);
  assert.equal(r.store.layers, 2);
  assert.equal(r.predictions, null);
  assert.match(r.predictionsNote ?? '', /no logits output \(its outputs: .+\).*ForCausalLM/);
  const off = await engine.analyse('the cat sat', 512);
  assert.equal(off.predictionsNote, null, 'no note when predictions are off');
  await engine.release();
  // The same encoder with a masked-LM head, and a tokenizer without a mask token: its logits are
  // not next-token predictions, and without a mask it cannot be asked for its own; the panel says so.
  const mlm = new ModelEngine();
  mlm.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  await mlm.loadModel({ name: 'bert-mlm', graph: bertWithMlmHead(), external: async () => [] }, 'wasm', {
    logits: true,
  });
  const m = await mlm.analyse('the cat sat', 512, { predictions: true });
  assert.equal(m.store.layers, 2);
  assert.equal(m.predictions, null);
  assert.equal(m.predictionKind, null);
  assert.match(m.predictionsNote ?? '', /bert-mlm attends both ways .* names no mask token \(\[MASK\] or <mask>\)/);
  await mlm.release();
});

test("a masked language model's predictions: each token masked in turn, equal to a log-softmax of the original graph's logits run by onnxruntime-node to 1e-4; with an intervention, what changed", async () => {
  const bytes = bertWithMlmHead();
  const engine = new ModelEngine();
  engine.loadText({
    tokenizer: bertTokenizerJson(['cat', 'sat'], { mask: true }),
    tokenizerConfig: null,
    config: null,
  });
  await engine.loadModel({ name: 'bert-mlm', graph: bytes, external: async () => [] }, 'wasm', {
    logits: true,
    interventions: true,
  });
  const text = 'the cat sat, hello unbelievable!';
  const r = await engine.analyse(text, 512, { predictions: true });
  assert.equal(r.predictionKind, 'masked');
  assert.equal(r.predictionsNote, null);
  const ids = r.tokens.map((t) => t.id);
  const maskId = 14; // after the 12 words and 'cat', 'sat'
  assert.equal(ids.length, 11);
  const predictions = r.predictions ?? assert.fail('predictions');
  // The reference: the original graph (no surgery) in onnxruntime-node, one run per masked token.
  const ortNode = await import('onnxruntime-node');
  const session = await ortNode.InferenceSession.create(bytes);
  const shape = [1, ids.length];
  for (let i = 0; i < ids.length; i++) {
    if (r.tokens[i].special) {
      assert.equal(predictions[i].logprob, null, `special token ${i} is not masked`);
      continue;
    }
    const masked = ids.map((id, j) => (j === i ? maskId : id));
    const out = await session.run({
      input_ids: new ortNode.Tensor('int64', BigInt64Array.from(masked.map(BigInt)), shape),
      attention_mask: new ortNode.Tensor('int64', BigInt64Array.from(masked.map(() => 1n)), shape),
    });
    const row = Array.from((out.logits.data as Float32Array).subarray(i * 1000, (i + 1) * 1000));
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((sum, v) => sum + Math.exp(v - max), 0));
    const lp = predictions[i].logprob ?? assert.fail(`token ${i} has no prediction`);
    assert.ok(Math.abs(lp - (row[ids[i]] - logZ)) < 1e-4, `token ${i}: ${lp} vs ${row[ids[i]] - logZ}`);
    // The 5 most likely, as probabilities (two candidates can be within rounding of each other).
    const best = [...row].sort((a, b) => b - a).slice(0, 5);
    predictions[i].top.forEach((c, k) => {
      assert.ok(Math.abs(c.p - Math.exp(row[c.id] - logZ)) < 1e-5, `token ${i} candidate ${c.id}`);
      assert.ok(Math.abs(c.p - Math.exp(best[k] - logZ)) < 1e-5, `token ${i} candidate ${k}`);
    });
  }
  await session.release();
  // The CLI's predict says so ("kind": "masked") and gives the same.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-mlm-'));
  writeMlmFolder(dir);
  const cli = JSON.parse(
    execFileSync(process.execPath, [CLI, 'predict', '--model', path.join(dir, 'model.onnx'), '--text', text], {
      encoding: 'utf8',
    }),
  ) as { kind: string; predictions: { logprob: number | null }[] };
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(cli.kind, 'masked');
  cli.predictions.forEach((p, i) => {
    const own = predictions[i].logprob;
    if (own === null || p.logprob === null) assert.equal(p.logprob, own);
    else assert.ok(Math.abs(p.logprob - own) < 1e-5, `CLI token ${i}`);
  });
  // With an intervention, each token's Δ surprisal is the two masked runs' log-probabilities apart.
  const changed = await engine.analyse(text, 512, {
    predictions: true,
    intervention: { heads: [{ layer: 0, head: 1 }], hiddenTokens: [2] },
  });
  const perToken = changed.intervention?.effects.perToken ?? assert.fail('effects per token');
  let moved = 0;
  perToken.forEach((e, i) => {
    const before = predictions[i].logprob;
    const after = changed.predictions?.[i].logprob ?? null;
    if (before === null || after === null) return assert.equal(e.deltaSurprisal, null);
    assert.ok(Math.abs((e.deltaSurprisal ?? NaN) - (before - after) / Math.LN2) < 1e-4, `token ${i}`);
    moved = Math.max(moved, Math.abs(e.deltaSurprisal ?? 0));
  });
  assert.ok(moved > 1e-3, 'the intervention changed the predictions');
  // A time budget spent: the tokens after it get no prediction, and the panel says how many did.
  const cut = await engine.analyse(text, 512, { predictions: true, maskedBudgetMs: 0 });
  assert.match(cut.predictionsNote ?? '', /Surprisal for the first 1 of 9 tokens: bert-mlm attends both ways/);
  assert.equal(cut.predictions?.filter((p) => p.logprob !== null).length, 1);
  await engine.release();
});
