import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { analyseIds } from '../../src/engine/analyse';
import { exposeAttention } from '../../src/engine/attention-graph';
import { AttentionSession } from '../../src/engine/session';
import { setUpRuntime } from '../../src/engine/runtime-init';
import { isCausal } from '../../src/common/analysis';
import { predictionsFrom } from '../../src/common/predictions';
import { queryKeyRow } from '../../src/common/query-key';
import { mergedDecoder } from '../support/merged-decoder';
import { BUNDLED_MODEL_DIR, FIXTURES, ROOT, maxAbsDiff, readReference } from '../support/paths';
import { fusedMhaWithBias } from '../support/unfused-mha';

setUpRuntime();
const CLI = path.join(ROOT, 'dist', 'cli.js');

async function runFixture(file: string, refName: string): Promise<number> {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(FIXTURES, file))));
  const external = graph.externalDataFiles.map((f) => ({
    path: f,
    data: new Uint8Array(fs.readFileSync(path.join(FIXTURES, f))),
  }));
  const session = await AttentionSession.create(graph, external, 'auto');
  assert.equal(session.backend, 'wasm'); // Node has no WebGPU adapter
  const ref = readReference(refName);
  const out = await session.run(ref.input_ids[0]);
  await session.release();
  assert.equal(out.layers.length, ref.attentions.length);
  assert.equal(out.heads, ref.attentions[0].length);
  return maxAbsDiff(out.layers, ref.attentions);
}

for (const [file, ref] of [
  ['bert.onnx', 'bert'],
  ['gpt2.onnx', 'gpt2'],
  ['llama-dynamo.onnx', 'llama'],
  ['bert-fp16.onnx', 'bert-fp16'],
  ['bert-int8.onnx', 'bert-int8'],
  ['fused-mha.onnx', 'fused-mha'],
]) {
  test(`${file}: the engine reproduces the reference attentions to 1e-4 (onnxruntime-web wasm in Node)`, async () => {
    const diff = await runFixture(file, ref);
    assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
  });
}

const QK_CASES: [string, string, () => number[]][] = [
  ...(['bert', 'gpt2', 'llama', 'bert-fp16', 'bert-int8', 'fused-mha'] as const).map(
    (ref): [string, string, () => number[]] => [
      `${ref === 'llama' ? 'llama-dynamo' : ref}.onnx`,
      path.join(FIXTURES, `${ref === 'llama' ? 'llama-dynamo' : ref}.onnx`),
      () => readReference(ref).input_ids[0],
    ],
  ),
  ['the bundled model', path.join(BUNDLED_MODEL_DIR, 'model.onnx'), () => [40, 2, 2, 77, 901, 13, 40, 2, 2, 77]],
];
for (const [file, modelFile, idsOf] of QK_CASES) {
  test(`${file}: the query·key view's scores and mask give back every head's attention (softmax to 1e-5; 1e-4 for float16), and the mask is only 0 or −∞`, async () => {
    const graph = exposeAttention(new Uint8Array(fs.readFileSync(modelFile)));
    const external = graph.externalDataFiles.map((f) => ({
      path: f,
      data: new Uint8Array(fs.readFileSync(path.join(path.dirname(modelFile), f))),
    }));
    const session = await AttentionSession.create(graph, external, 'wasm');
    const ids = idsOf();
    const out = await session.run(ids);
    const t = ids.length;
    // Reduced precision computes the scores in float16 or from int8: the recovered mask is that
    // coarse, and float16 attention rows sum to 1 only to ~1e-4 (the softmax renormalises them).
    const zero = /fp16|int8/.test(file) ? 0.05 : 1e-3;
    const equal = /fp16/.test(file) ? 1e-4 : 1e-5;
    let worst = 0;
    let worstMask = 0;
    for (let l = 0; l < out.layers.length; l++) {
      const qk = await session.runQueryKey(ids, l);
      assert.deepEqual([qk.heads, qk.queries, qk.keys], [out.heads, t, t]);
      for (let h = 0; h < qk.heads; h++)
        for (let q = 0; q < t; q++) {
          const p = out.layers[l].subarray((h * t + q) * t, (h * t + q + 1) * t);
          const row = queryKeyRow(qk, h, q, p);
          for (let k = 0; k < t; k++) {
            worst = Math.max(worst, Math.abs(row.probabilities[k] - p[k]));
            if (row.mask[k] !== -Infinity) worstMask = Math.max(worstMask, Math.abs(row.mask[k]));
          }
        }
    }
    await session.release();
    assert.ok(worst < equal, `softmax(scores + mask) differs from the attention by ${worst}`);
    assert.ok(worstMask < zero, `an unmasked key's mask is ${worstMask}: the scores are not q·k·scale`);
  });
}

test('a merged decoder (If on use_cache_branch, as Optimum exports): the no-cache branch is inlined and matches the reference', async () => {
  const merged = mergedDecoder(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'gpt2.onnx'))));
  const ref = readReference('gpt2');
  // The wrapped graph is a valid model as it stands: ONNX Runtime runs it with the branch switch off.
  const plain = await ort.InferenceSession.create(merged);
  const n = ref.input_ids[0].length;
  const ids = new ort.Tensor('int64', BigInt64Array.from(ref.input_ids[0].map(BigInt)), [1, n]);
  const mask = new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
  const r = await plain.run({
    input_ids: ids,
    attention_mask: mask,
    use_cache_branch: new ort.Tensor('bool', new Uint8Array([0]), [1]),
  });
  assert.equal(r.out.dims[1], n);
  await plain.release();

  const graph = exposeAttention(merged);
  assert.equal(graph.rewrites.inlinedIfs, 1);
  assert.deepEqual(
    graph.attention.map((a) => a.layerName),
    ['no_past//m/transformer/h.0/attn/Softmax', 'no_past//m/transformer/h.1/attn/Softmax'],
  );
  const session = await AttentionSession.create(graph, [], 'wasm');
  const out = await session.run(ref.input_ids[0]);
  await session.release();
  const diff = maxAbsDiff(out.layers, ref.attentions);
  assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
});

test('what only fed the original outputs is pruned: the bundled model loses its language-model head, attention unchanged', async () => {
  const bytes = new Uint8Array(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'model.onnx')));
  const graph = exposeAttention(bytes);
  assert.ok(graph.rewrites.prunedNodes > 0, JSON.stringify(graph.rewrites));
  assert.ok(graph.rewrites.prunedInitializers > 0, JSON.stringify(graph.rewrites));
  // The head's weight is tied to the embedding, which stays; what goes is the head's own graph.
  const decoded = onnx.ModelProto.decode(graph.bytes);
  assert.ok(!decoded.graph?.node?.some((n) => (n.output ?? []).includes('logits')));
  assert.ok(!decoded.graph?.node?.some((n) => n.opType === 'LayerNormalization' && n.input?.[1] === 'lnf.weight'));
  assert.ok(graph.bytes.length < bytes.length - 1e6, `${graph.bytes.length} of ${bytes.length} bytes`);
  // The fixture tests above run pruned graphs against Hugging Face's attention; here the run still
  // yields every layer's probabilities.
  const session = await AttentionSession.create(graph, [], 'wasm');
  const out = await session.run([5, 17, 42, 99, 7, 17, 42, 99, 3, 250, 11, 12]);
  await session.release();
  assert.equal(out.layers.length, 4);
  for (const l of out.layers) assert.equal(l.length, 8 * 12 * 12);
});

test('com.microsoft.Attention (packed Q/K/V weights, as the ONNX Runtime optimizer fuses BERT): query and key are rebuilt in the graph and match the reference', async () => {
  const { packedAttention } = await import('../support/packed-attention');
  const fixture = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'fused-mha.onnx')));
  const ref = readReference('fused-mha');
  const run = async (bytes: Uint8Array) => {
    const graph = exposeAttention(bytes);
    const session = await AttentionSession.create(graph, [], 'wasm');
    const out = await session.run(ref.input_ids[0]);
    const qk = await session.runQueryKey(ref.input_ids[0], 1);
    await session.release();
    return { graph, out, qk };
  };
  const plain = await run(packedAttention(fixture).packed);
  assert.deepEqual(
    plain.graph.attention.map((a) => a.source.kind === 'fused' && a.source.op),
    ['com.microsoft.Attention', 'com.microsoft.Attention'],
  );
  const diff = maxAbsDiff(plain.out.layers, ref.attentions);
  assert.ok(diff < 1e-4, `max |diff| = ${diff}`);

  // With Q/K/V biases: against the same biases as Add nodes on the unfused projections.
  let x = 99;
  const bias = () =>
    Float32Array.from({ length: 192 }, () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 4);
  const { packed, unfusedWithBias } = packedAttention(fixture, bias);
  const withBias = await run(packed);
  const twin = await run(unfusedWithBias);
  const biasDiff = maxAbsDiff(withBias.out.layers, nested(twin.out.layers, twin.out.heads, ref.input_ids[0].length));
  assert.ok(biasDiff < 1e-4, `max |diff| with biases = ${biasDiff}`);
  assert.ok(maxAbsDiff(withBias.out.layers, ref.attentions) > 1e-2, 'the biases change the attention');
  // The query·key view: the fused operator's rebuilt query and key (biases included) are the unfused twin's.
  const t = ref.input_ids[0].length;
  for (let h = 0; h < 4; h++)
    for (let q = 0; q < t; q++) {
      const fusedRow = queryKeyRow(withBias.qk, h, q);
      const twinRow = queryKeyRow(twin.qk, h, q, twin.out.layers[1].subarray((h * t + q) * t, (h * t + q + 1) * t));
      for (let d = 0; d < 16; d++) assert.ok(Math.abs(fusedRow.q[d] - twinRow.q[d]) < 1e-4, 'the same query vector');
      for (let k = 0; k < t; k++) assert.ok(Math.abs(fusedRow.scores[k] - twinRow.scores[k]) < 1e-4, 'the same scores');
    }
});

/** Per layer [heads·T·T] → [layer][head][query][key], the references' nesting. */
function nested(layers: Float32Array[], heads: number, t: number): number[][][][] {
  return layers.map((l) =>
    Array.from({ length: heads }, (_, h) =>
      Array.from({ length: t }, (_, q) => Array.from(l.subarray((h * t + q) * t, (h * t + q + 1) * t))),
    ),
  );
}

test("ONNX Runtime's FusedMatMul in the score path (as its optimizer saves graphs): the attention is found and matches the reference", async () => {
  const model = onnx.ModelProto.decode(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'bert.onnx'))));
  const g = model.graph as onnx.GraphProto;
  const producer = new Map(g.node.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  let fused = 0;
  for (const softmax of g.node.filter((n) => n.opType === 'Softmax')) {
    // Softmax ← Add (mask) ← Mul (scale) ← MatMul (Q·Kᵀ): the MatMul becomes com.microsoft.FusedMatMul.
    let n = producer.get(softmax.input?.[0] ?? '');
    while (n && n.opType !== 'MatMul') n = producer.get(n.input?.[0] ?? '');
    assert.ok(n);
    n.opType = 'FusedMatMul';
    n.domain = 'com.microsoft';
    n.attribute = [{ name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 }];
    fused++;
  }
  assert.equal(fused, 2);
  model.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }));
  const graph = exposeAttention(onnx.ModelProto.encode(model).finish());
  const session = await AttentionSession.create(graph, [], 'wasm');
  const ref = readReference('bert');
  const out = await session.run(ref.input_ids[0]);
  await session.release();
  const diff = maxAbsDiff(out.layers, ref.attentions);
  assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
});

test('the CLI prints tokens, layer names and [layer][head][query][key] attention matching the reference', () => {
  const ref = readReference('llama');
  const out = execFileSync(
    process.execPath,
    [CLI, 'attention', '--model', path.join(FIXTURES, 'llama-dynamo.onnx'), '--ids', ref.input_ids[0].join(',')],
    { encoding: 'utf8' },
  );
  const json = JSON.parse(out) as {
    tokens: { id: number; text: null; start: null }[];
    layers: string[];
    attentions: number[][][][];
  };
  assert.deepEqual(
    json.tokens.map((t) => t.id),
    ref.input_ids[0],
  );
  assert.equal(json.tokens[0].start, null);
  assert.equal(json.layers.length, 2);
  let worst = 0;
  json.attentions.forEach((l, li) =>
    l.forEach((h, hi) =>
      h.forEach((r, q) =>
        r.forEach((v, k) => {
          worst = Math.max(worst, Math.abs(v - ref.attentions[li][hi][q][k]));
        }),
      ),
    ),
  );
  assert.ok(worst < 1e-4, `max |diff| = ${worst}`);
});

test("the CLI cuts an encoder's long text to its context and still closes it with [SEP]", async () => {
  const { bertTokenizerJson } = await import('../support/tokenizers');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-cli-bert-'));
  fs.copyFileSync(path.join(FIXTURES, 'bert.onnx'), path.join(dir, 'model.onnx'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), bertTokenizerJson(['quick', 'fox']));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ max_position_embeddings: 16 }));
  const r = spawnSync(
    process.execPath,
    [CLI, 'attention', '--model', path.join(dir, 'model.onnx'), '--text', 'the quick fox '.repeat(20), '--layers', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /cut to the model's context: 16 of 62 tokens/);
  const out = JSON.parse(r.stdout) as { tokens: { text: string }[]; attentions: number[][][][] };
  assert.deepEqual(
    out.tokens.map((t) => t.text),
    ['[CLS]', ...'the quick fox '.repeat(5).trim().split(' ').slice(0, 14), '[SEP]'],
  );
  assert.equal(out.attentions[0][0].length, 16);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the CLI uses the bundled model by default, with offsets, --layers, and a note when input is cut', () => {
  const text = 'for i in range(10):\n    print(i) # 😀';
  const out = JSON.parse(
    execFileSync(process.execPath, [CLI, 'attention', '--text', text, '--layers', '1,3'], { encoding: 'utf8' }),
  ) as {
    tokens: { id: number; text: string; start: number; end: number }[];
    layers: string[];
    attentions: number[][][][];
  };
  assert.deepEqual(out.layers, ['/blocks.1/Softmax', '/blocks.3/Softmax']);
  assert.equal(out.attentions.length, 2);
  assert.equal(out.attentions[0].length, 8);
  const t = out.tokens.length;
  for (const row of out.attentions[1][7]) {
    assert.equal(row.length, t);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  }
  assert.equal(out.tokens[0].text, 'for');
  assert.equal(text.slice(out.tokens[1].start, out.tokens[1].end), ' i');

  const long = 'x = 1\n'.repeat(200);
  const r = spawnSync(process.execPath, [CLI, 'attention', '--text', long, '--layers', '0'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /cut to the model's context: 256 of \d+ tokens/);
  assert.equal((JSON.parse(r.stdout) as { tokens: unknown[] }).tokens.length, 256);

  const bad = spawnSync(
    process.execPath,
    [CLI, 'attention', '--model', path.join(FIXTURES, 'bert.onnx.missing'), '--ids', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no model file/);
  const usage = spawnSync(process.execPath, [CLI, 'attention'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage:/);
});

/** Deterministic pseudo-random token ids (a fixed LCG), away from the special id 0. */
function randomIds(n: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return 100 + (x % 8000);
  });
}

test('the bundled model: its layer-3 induction heads copy in context as its model card says', async () => {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'model.onnx'))));
  const session = await AttentionSession.create(graph, [], 'wasm');
  // The card's protocol: [eos, r, r] with r 50 random tokens; induction = mean attention from a
  // token of the second copy to the token that followed its earlier occurrence.
  const r = randomIds(50, 7);
  const a = await analyseIds(session, [0, ...r, ...r], 256, 1024);
  await session.release();
  assert.ok(isCausal(a.store));
  const induction = (layer: number, head: number): number => {
    let sum = 0;
    for (let i = 0; i < 49; i++) sum += a.store.weight(layer, head, 51 + i, 2 + i);
    return sum / 49;
  };
  assert.ok(induction(3, 7) > 0.5, `layer 3 head 7 induction ${induction(3, 7)}`);
  assert.ok(induction(2, 2) < 0.1, `layer 2 head 2 induction ${induction(2, 2)}`);
});

test('the bundled model analyses long input in overlapping windows up to maxTokens, and falls back from WebGPU to wasm with a note', async () => {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'model.onnx'))));
  const session = await AttentionSession.create(graph, [], 'webgpu');
  assert.equal(session.backend, 'wasm');
  assert.match(session.backendNote ?? '', /No WebGPU adapter/);
  const a = await analyseIds(session, randomIds(700, 3), 256, 600);
  await session.release();
  assert.deepEqual(
    a.plan.windows.map((w) => [w.start, w.end]),
    [
      [0, 256],
      [192, 448],
      [384, 600],
    ],
  );
  assert.equal(a.plan.truncated, true);
  assert.equal(a.store.tokens, 600);
  for (const q of [0, 200, 300, 599]) {
    const row = a.store.row(0, 'mean', q);
    const sum = row.weights.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `row ${q} sums to ${sum}`);
    assert.ok(q >= row.keyStart && q < row.keyStart + row.weights.length);
  }
});

test('an encoder analysed in windows gives every window its [CLS] and [SEP] again, as a direct run of that window gives', async () => {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'bert.onnx'))));
  const session = await AttentionSession.create(graph, [], 'wasm');
  const ids = [1, ...randomIds(18, 5).map((x) => (x % 900) + 50), 2]; // 1 and 2 stand for [CLS] and [SEP]
  const a = await analyseIds(session, ids, 8, 1024, { lead: 1, trail: 1 });
  const middle = a.plan.windows[1];
  assert.deepEqual(middle.lead, [0]);
  assert.deepEqual(middle.trail, [19]);
  const direct = await session.run([ids[0], ...ids.slice(middle.start, middle.end), ids[19]]);
  await session.release();
  const t = middle.end - middle.start + 2;
  const q = middle.start + 3; // well inside the middle window, so its row comes from there
  assert.equal(a.store.windowOf(q), a.store.windows[1]);
  for (const layer of [0, 1]) {
    for (const head of [0, 3]) {
      const expected = direct.layers[layer].subarray((head * t + 4) * t, (head * t + 5) * t);
      assert.equal(a.store.weight(layer, head, q, 0), expected[0]);
      assert.equal(a.store.weight(layer, head, q, 19), expected[t - 1]);
      assert.equal(a.store.weight(layer, head, q, middle.start), expected[1]);
      assert.equal(a.store.weight(layer, head, q, 1), 0);
      const row = a.store.row(layer, head, q);
      assert.ok(Math.abs(row.weights.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    }
  }
  // [CLS] gets attention from every window's queries, not only the first window's.
  assert.ok(a.store.weight(0, 'mean', 19 - 2, 0) > 0);
});

test('a decoder exported with a key/value cache is fed an empty past, and its attention matches an independent computation', async () => {
  const { decoderWithCache } = await import('../support/decoder-with-cache');
  const m = decoderWithCache();
  const graph = exposeAttention(m.bytes);
  assert.deepEqual(
    graph.inputs.map((i) => i.name),
    ['input_ids', 'attention_mask', 'past_key_values.0.key', 'past_key_values.0.value'],
  );
  const session = await AttentionSession.create(graph, [], 'wasm');
  const ids = [3, 1, 4, 1, 5, 9];
  const out = await session.run(ids);
  await session.release();
  assert.equal(out.heads, 2);
  // Independent: x = emb[id], q = x·Wq, k = x·Wk per head of 4, softmax(q·k / 2).
  const proj = (w: Float32Array, id: number): number[] =>
    Array.from({ length: 8 }, (_, j) => {
      let s = 0;
      for (let i = 0; i < 8; i++) s += m.emb[id * 8 + i] * w[i * 8 + j];
      return s;
    });
  const q = ids.map((id) => proj(m.wq, id));
  const k = ids.map((id) => proj(m.wk, id));
  let worst = 0;
  for (let h = 0; h < 2; h++) {
    for (let a = 0; a < ids.length; a++) {
      const scores = ids.map(
        (_, b) => q[a].slice(h * 4, h * 4 + 4).reduce((s, v, d) => s + v * k[b][h * 4 + d], 0) * 0.5,
      );
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const sum = e.reduce((x, y) => x + y, 0);
      e.forEach(
        (v, b) => (worst = Math.max(worst, Math.abs(v / sum - out.layers[0][(h * ids.length + a) * ids.length + b]))),
      );
    }
  }
  assert.ok(worst < 1e-5, `max |diff| = ${worst}`);
});

test('a model of one layer with one head runs: one [1, T, T] matrix whose rows are softmaxes, and one head to score', async () => {
  const { oneHeadModel } = await import('../support/one-head-model');
  const { allHeadScores } = await import('../../src/common/head-scores');
  const { AttentionStore } = await import('../../src/common/attention-store');
  const session = await AttentionSession.create(exposeAttention(oneHeadModel(32)), [], 'wasm');
  const ids = [2, 5, 9, 5, 9, 3];
  const out = await session.run(ids);
  await session.release();
  assert.deepEqual([out.layers.length, out.heads, out.layers[0].length], [1, 1, ids.length * ids.length]);
  for (let q = 0; q < ids.length; q++) {
    const row = out.layers[0].subarray(q * ids.length, (q + 1) * ids.length);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.ok(Math.max(...row) - Math.min(...row) > 0.01, 'the attention is not uniform');
  }
  const store = new AttentionStore([{ start: 0, length: ids.length, layers: out.layers }], 1, 1);
  const heads = allHeadScores(store, ids);
  assert.equal(heads.length, 1);
  assert.ok(heads[0].scores.entropy! > 0);
});

test('an input the engine cannot fill is named in the error', async () => {
  const { onnx } = await import('onnx-proto');
  const { decoderWithCache } = await import('../support/decoder-with-cache');
  const model = onnx.ModelProto.decode(decoderWithCache().bytes);
  model.graph!.input!.push({ name: 'pixel_values', type: { tensorType: { elemType: 1 } } });
  const graph = exposeAttention(onnx.ModelProto.encode(model).finish());
  const session = await AttentionSession.create(graph, [], 'wasm');
  await assert.rejects(
    session.run([1, 2]),
    /requires an input "pixel_values" that Attention Explorer does not know how to fill/,
  );
  await session.release();
});

test('the CLI heads command: the bundled model on repeated random tokens ranks layer 3 head 7 first for induction, as its model card says', () => {
  const r = randomIds(50, 11);
  const ids = [0, ...r, ...r].join(',');
  const out = JSON.parse(execFileSync(process.execPath, [CLI, 'heads', '--ids', ids], { encoding: 'utf8' })) as {
    heads: { layer: number; head: number; scores: Record<string, number | null> }[];
  };
  assert.equal(out.heads.length, 4 * 8);
  for (const h of out.heads) {
    assert.deepEqual(Object.keys(h.scores), [
      'previousToken',
      'firstToken',
      'self',
      'entropy',
      'meanDistance',
      'induction',
    ]);
    assert.ok(h.scores.entropy! >= 0 && h.scores.entropy! <= Math.log(101) + 1e-6);
  }
  const byInduction = [...out.heads].sort((a, b) => b.scores.induction! - a.scores.induction!);
  assert.deepEqual([byInduction[0].layer, byInduction[0].head], [3, 7]);
  // The card's own measure (second copy only) gives > 0.5; this one also counts the first query of
  // the copy and chance repeats inside it, with less context to copy from.
  assert.ok(byInduction[0].scores.induction! > 0.4, `induction ${byInduction[0].scores.induction}`);
  const median = byInduction[byInduction.length / 2].scores.induction!;
  assert.ok(
    byInduction[0].scores.induction! > 4 * median,
    `induction ${byInduction[0].scores.induction} vs median ${median}`,
  );
  // A head of the first layer is no induction head.
  assert.ok(out.heads.filter((h) => h.layer === 0).every((h) => h.scores.induction! < 0.3));
  const only = JSON.parse(
    execFileSync(process.execPath, [CLI, 'heads', '--ids', ids, '--layers', '2'], { encoding: 'utf8' }),
  ) as { heads: { layer: number }[] };
  assert.deepEqual([...new Set(only.heads.map((h) => h.layer))], [2]);
});

test('the CLI --aggregate prints one matrix per layer: the mean and max over heads, and the rollout (rows summing to 1)', () => {
  const text = 'def add(a, b):\n    return a + b\n';
  const run = (agg: string): { attentions: number[][][][]; tokens: unknown[] } =>
    JSON.parse(
      execFileSync(process.execPath, [CLI, 'attention', '--text', text, '--aggregate', agg], { encoding: 'utf8' }),
    );
  const all = JSON.parse(execFileSync(process.execPath, [CLI, 'attention', '--text', text], { encoding: 'utf8' })) as {
    attentions: number[][][][];
  };
  const mean = run('mean');
  const max = run('max');
  const rolled = run('rollout');
  const t = mean.tokens.length;
  for (const out of [mean, max, rolled]) {
    assert.equal(out.attentions.length, 4);
    for (const layer of out.attentions) assert.equal(layer.length, 1);
  }
  for (let q = 0; q < t; q++) {
    for (let k = 0; k < t; k++) {
      const heads = all.attentions[2].map((h) => h[q][k]);
      assert.ok(Math.abs(mean.attentions[2][0][q][k] - heads.reduce((a, b) => a + b, 0) / heads.length) < 1e-6);
      assert.ok(Math.abs(max.attentions[2][0][q][k] - Math.max(...heads)) < 1e-6);
    }
    const sum = rolled.attentions[3][0][q].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `rollout row ${q} sums to ${sum}`);
    // Causal: nothing flows from later tokens.
    assert.ok(rolled.attentions[3][0][q].slice(q + 1).every((v) => v === 0));
  }
  const bad = spawnSync(process.execPath, [CLI, 'attention', '--text', 'x', '--aggregate', 'median'], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--aggregate takes mean, max, rollout/);
  const noAggregate = spawnSync(process.execPath, [CLI, 'heads', '--text', 'x', '--aggregate', 'mean'], {
    encoding: 'utf8',
  });
  assert.equal(noAggregate.status, 2);
  assert.match(noAggregate.stderr, /unknown option --aggregate/);
});

test('the CLI qk command: one head’s query, keys, scores, mask and softmax; the softmax is the attention command’s row', () => {
  const ref = readReference('llama');
  const ids = ref.input_ids[0].join(',');
  const model = path.join(FIXTURES, 'llama-dynamo.onnx');
  const qk = JSON.parse(
    execFileSync(
      process.execPath,
      [CLI, 'qk', '--model', model, '--ids', ids, '--layer', '1', '--head', '2', '--query', '3'],
      { encoding: 'utf8' },
    ),
  ) as {
    q: number[];
    k: number[][];
    scores: number[];
    mask: (number | null)[];
    probabilities: number[];
    scale: number;
  };
  const t = ref.input_ids[0].length;
  assert.equal(qk.k.length, t);
  assert.equal(qk.q.length, qk.k[0].length);
  // The scores are q·k × scale, computed here from the printed vectors.
  for (let k = 0; k < t; k++) {
    const dot = qk.q.reduce((s, v, d) => s + v * qk.k[k][d], 0);
    assert.ok(Math.abs(dot * qk.scale - qk.scores[k]) < 1e-4);
  }
  // Causal: the keys after the query are masked (null for −∞), the others get nothing added.
  assert.deepEqual(
    qk.mask.map((m) => (m === null ? 'masked' : Math.abs(m) < 1e-3 ? 0 : m)),
    Array.from({ length: t }, (_, k) => (k > 3 ? 'masked' : 0)),
  );
  for (let k = 0; k < t; k++) assert.ok(Math.abs(qk.probabilities[k] - ref.attentions[1][2][3][k]) < 1e-4);
  const bad = spawnSync(process.execPath, [CLI, 'qk', '--model', model, '--ids', ids, '--layer', '1', '--head', '2'], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /qk needs --query/);
});

/** The logits a graph gives for these ids (all tokens attended), run by onnxruntime-web as it is. */
async function logitsOf(bytes: Uint8Array, ids: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const shape = [1, ids.length];
  const out = await s.run({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), shape),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(ids.map(() => 1n)), shape),
  });
  await s.release();
  return out.logits.data as Float32Array;
}

for (const [what, options] of [
  ['separate query, key and value; rotary over the whole head', {}],
  ['packed query, key and value; interleaved rotary', { packed: true, interleaved: true }],
  [
    'partial rotary (16 of 32 dimensions), softcap 2 and a sliding window of 3',
    { rotaryHalf: 8, softcap: 2, localWindow: 3 },
  ],
] as const) {
  test(`GroupQueryAttention with rotary inside (${what}): the attention recovered matches an unfused twin to 1e-4`, async () => {
    const { gqaModels } = await import('../support/gqa-model');
    const ids = [5, 17, 42, 9, 7, 17, 42, 9, 3, 25, 11, 12];
    const { fused, twin } = gqaModels(ids.length, options);
    // The twin computes what the operator computes: the same logits from ONNX Runtime.
    const [fusedLogits, twinLogits] = [await logitsOf(fused, ids), await logitsOf(twin, ids)];
    let logitDiff = 0;
    for (let i = 0; i < fusedLogits.length; i++)
      logitDiff = Math.max(logitDiff, Math.abs(fusedLogits[i] - twinLogits[i]));
    assert.ok(logitDiff < 1e-4, `the twin's logits differ from the operator's by ${logitDiff}`);

    const run = async (bytes: Uint8Array, queryKey: boolean) => {
      const graph = exposeAttention(bytes);
      const session = await AttentionSession.create(graph, [], 'wasm');
      const out = await session.run(ids);
      // (The twin's softcap is a Tanh on its score path, which the query·key view does not undo.)
      const qk = queryKey ? await session.runQueryKey(ids, 0) : undefined;
      await session.release();
      return { graph, out, qk };
    };
    const f = await run(fused, true);
    const t = await run(twin, false);
    assert.equal(f.graph.attention[0].source.kind, 'fused');
    assert.equal(t.graph.attention[0].source.kind, 'softmax');
    const T = ids.length;
    const diff = maxAbsDiff(f.out.layers, nested(t.out.layers, t.out.heads, T));
    assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
    // The query·key view of the fused operator (rotated query and key, cap, window) gives back its attention.
    for (let h = 0; h < 4; h++)
      for (let q = 0; q < T; q++) {
        const row = queryKeyRow(f.qk!, h, q);
        const att = f.out.layers[0].subarray((h * T + q) * T, (h * T + q + 1) * T);
        for (let k = 0; k < T; k++)
          assert.ok(Math.abs(row.probabilities[k] - att[k]) < 1e-5, `head ${h} query ${q} key ${k}`);
      }
  });
}

test('MultiHeadAttention with an attention_bias (relative positions, ALiBi): the bias is added to the scores', async () => {
  const ref = readReference('fused-mha');
  const ids = ref.input_ids[0];
  const T = ids.length;
  // The last layer gets a per-head bias over [query, key] (a constant, which the engine must pass
  // through a node to fetch): its scores are still the reference's, so its attention must be
  // softmax(ln p + bias).
  const { bytes, bias } = fusedMhaWithBias(T);
  const graph = exposeAttention(bytes);
  const session = await AttentionSession.create(graph, [], 'wasm');
  const out = await session.run(ids);
  const qk = await session.runQueryKey(ids, 1);
  await session.release();
  assert.ok(maxAbsDiff([out.layers[0]], [ref.attentions[0]]) < 1e-4, 'the first layer is unchanged');
  let diff = 0;
  for (let h = 0; h < 4; h++)
    for (let q = 0; q < T; q++) {
      const logits = ref.attentions[1][h][q].map((p, k) => Math.log(p) + bias[(h * T + q) * T + k]);
      const max = Math.max(...logits);
      const e = logits.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let k = 0; k < T; k++) diff = Math.max(diff, Math.abs(out.layers[1][(h * T + q) * T + k] - e[k] / sum));
    }
  assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
  assert.ok(maxAbsDiff([out.layers[1]], [ref.attentions[1]]) > 1e-2, 'the bias changes the attention');
  // The query·key view shows the bias as what is added before the softmax.
  const row = queryKeyRow(qk, 2, 5);
  for (let k = 0; k < T; k++) assert.ok(Math.abs(row.mask[k] - bias[(2 * T + 5) * T + k]) < 1e-6);
});

for (const [kind, what] of [
  ['matmulnbits', '4-bit MatMulNBits weights (q4 exports)'],
  ['blockwise', 'int8 weights with a blockwise DequantizeLinear (opset 21)'],
  ['gather', 'a 4-bit GatherBlockQuantized embedding'],
] as const) {
  test(`${what}: the attention is still found, and equals a float twin holding the dequantized weights to 1e-4`, async () => {
    const { quantizeWeights } = await import('../support/quantize-weights');
    const original = new Uint8Array(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'model.onnx')));
    const { quantized, twin } = quantizeWeights(original, kind);
    const ids = [40, 2, 2, 77, 901, 13, 40, 2, 2, 77, 5, 300];
    const run = async (bytes: Uint8Array) => {
      const graph = exposeAttention(bytes);
      const session = await AttentionSession.create(graph, [], 'wasm');
      const out = await session.run(ids);
      await session.release();
      return { graph, out };
    };
    const q = await run(quantized);
    const t = await run(twin);
    assert.equal(q.graph.attention.length, 4);
    const diff = maxAbsDiff(q.out.layers, nested(t.out.layers, t.out.heads, ids.length));
    assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
    const plain = await run(original);
    const drift = maxAbsDiff(q.out.layers, nested(plain.out.layers, plain.out.heads, ids.length));
    assert.ok(drift > 1e-3, `4-bit weights change the attention a little (max |diff| ${drift} from the float model)`);
  });
}

test('a tokenizer whose ids run past the model’s embedding gets a clear error, and the session keeps working', async () => {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'model.onnx'))));
  assert.equal(graph.vocabulary, 8192);
  const session = await AttentionSession.create(graph, [], 'wasm');
  await assert.rejects(
    session.run([5, 9000, 7]),
    /token id 9000, but the model's embedding has only 8192 rows: the tokenizer\.json does not belong to this model/,
  );
  const out = await session.run([5, 6, 7]);
  assert.equal(out.layers.length, 4);
  await session.release();
});

test('a GPU whose buffers are smaller than the model’s largest weight is not tried: WebAssembly runs it, and says why', async () => {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'model.onnx'))));
  // The token embedding: 8,192 × 256 float32.
  assert.equal(graph.largestWeightBytes, 8192 * 256 * 4);
  const small = async () => ({ software: false, name: 'test GPU', maxBufferBytes: 4 * 1024 ** 2 });
  const session = await AttentionSession.create(graph, [], 'webgpu', small);
  assert.equal(session.backend, 'wasm');
  assert.match(
    session.backendNote ?? '',
    /largest weight \(8 MB\) is more than this GPU \(test GPU\) holds in one buffer \(4 MB\): running on WebAssembly/,
  );
  assert.equal((await session.run([5, 6, 7])).layers.length, 4);
  await session.release();
});

/** log-softmax of one row of logits, in float64: the reference for the engine's predictions. */
function logSoftmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const z = max + Math.log(sum);
  return Array.from(row, (v) => v - z);
}

for (const [name, file, ids] of [
  [
    'gpt2.onnx (GPT2LMHeadModel, its logits output named "out")',
    path.join(FIXTURES, 'gpt2.onnx'),
    [5, 17, 42, 99, 7, 17, 42, 99, 3, 250, 11, 12],
  ],
  ['the bundled model', path.join(BUNDLED_MODEL_DIR, 'model.onnx'), [40, 2, 2, 77, 901, 13, 40, 2, 2, 77]],
] as const) {
  test(`predictions (${name}): each token's log-probability and the top 5 equal a log-softmax of the original graph's logits run by onnxruntime-node, to 1e-4`, async () => {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const graph = exposeAttention(bytes, { logits: true });
    assert.ok(graph.logits);
    const session = await AttentionSession.create(graph, [], 'wasm');
    const { logits, vocabulary } = await session.runLogits([...ids]);
    const out = await session.run([...ids]);
    await session.release();
    const mine = predictionsFrom(logits, vocabulary, ids, 5);
    // The original graph, untouched, in onnxruntime-node.
    const ortNode = await import('onnxruntime-node');
    const s = await ortNode.InferenceSession.create(bytes);
    const shape = [1, ids.length];
    const feeds: Record<string, InstanceType<typeof ortNode.Tensor>> = {};
    for (const n of s.inputNames)
      feeds[n] = new ortNode.Tensor(
        'int64',
        BigInt64Array.from(/attention_mask/.test(n) ? ids.map(() => 1n) : ids.map(BigInt)),
        shape,
      );
    const ref = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
    await s.release();
    const V = ref.length / ids.length;
    assert.equal(vocabulary, V);
    for (let i = 0; i < ids.length; i++) {
      const lp = logSoftmax(ref.subarray(i * V, (i + 1) * V));
      if (i + 1 < ids.length) assert.ok(Math.abs((mine[i].logprob ?? NaN) - lp[ids[i + 1]]) < 1e-4, `position ${i}`);
      else assert.equal(mine[i].logprob, null);
      const order = lp
        .map((v, id) => [v, id])
        .sort((a, b) => b[0] - a[0])
        .slice(0, 5);
      assert.deepEqual(
        mine[i].top.map((c) => c.id),
        order.map(([, id]) => id),
      );
      for (let j = 0; j < 5; j++) assert.ok(Math.abs(mine[i].top[j].p - Math.exp(order[j][0])) < 1e-4);
    }
    // Keeping the head changes nothing in the attention.
    const plain = await AttentionSession.create(exposeAttention(bytes), [], 'wasm');
    const base = await plain.run([...ids]);
    await plain.release();
    assert.ok(maxAbsDiff(out.layers, nested(base.layers, base.heads, ids.length)) < 1e-6);
  });
}

test('predictions asked of a model without logits (a bare encoder) name the outputs it has', async () => {
  const graph = exposeAttention(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'bert.onnx'))), { logits: true });
  assert.equal(graph.logits, null);
  const session = await AttentionSession.create(graph, [], 'wasm');
  await assert.rejects(
    session.runLogits([101, 7, 102]),
    /no logits output \(its outputs: out\): use a language-model export/,
  );
  await session.release();
  const cli = spawnSync(
    process.execPath,
    [CLI, 'predict', '--model', path.join(FIXTURES, 'bert.onnx'), '--ids', '101,7,102'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /no logits output/);
});

test('the CLI prints each token’s log-probability and its top 5 next tokens with their text', () => {
  const text = 'def add(a, b):\n    return a + b\n';
  const out = JSON.parse(execFileSync(process.execPath, [CLI, 'predict', '--text', text], { encoding: 'utf8' })) as {
    tokens: { id: number; text: string }[];
    predictions: { logprob: number | null; top: { id: number; text: string; p: number }[] }[];
  };
  assert.equal(out.predictions.length, out.tokens.length);
  assert.equal(out.predictions[out.predictions.length - 1].logprob, null);
  for (const p of out.predictions.slice(0, -1)) assert.ok(p.logprob !== null && p.logprob <= 0);
  for (const p of out.predictions) {
    assert.equal(p.top.length, 5);
    for (let j = 1; j < 5; j++) assert.ok(p.top[j - 1].p >= p.top[j].p, 'most likely first');
    assert.ok(p.top.every((c) => typeof c.text === 'string'));
  }
  // The bundled model was trained on code: after "return a +" it expects " b" among its top 5.
  const plus = out.tokens.findIndex((t, i) => t.text === ' +' && out.tokens[i + 1]?.text === ' b');
  assert.ok(plus > 0);
  assert.ok(
    out.predictions[plus].top.some((c) => c.text === ' b'),
    JSON.stringify(out.predictions[plus].top),
  );
});
