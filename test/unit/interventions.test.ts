/**
 * Interventions by graph surgery: knocking heads out and hiding tokens, checked against
 * hand-built twins run by onnxruntime-node (an independent runtime) and against what hiding
 * means (no attention to the token from any other row); what an intervention changed; and the
 * predictions the panel's windowed runs gather.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { headChanges, tokenEffects } from '../../src/common/intervention-effects';
import { predictionsFrom } from '../../src/common/predictions';
import { analyseIds } from '../../src/engine/analyse';
import { exposeAttention } from '../../src/engine/attention-graph';
import { InterventionError, type Intervention } from '../../src/engine/interventions';
import { setUpRuntime } from '../../src/engine/runtime-init';
import { AttentionSession } from '../../src/engine/session';
import { BUNDLED_MODEL_DIR, FIXTURES, ROOT, readReference } from '../support/paths';

setUpRuntime();
const CLI = path.join(ROOT, 'dist', 'cli.js');
const BUNDLED = path.join(BUNDLED_MODEL_DIR, 'model.onnx');
const IDS = [40, 2, 2, 77, 901, 13, 40, 2, 2, 77, 5, 9];

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/**
 * The twin: the original graph with, after the chosen layers' attention Softmax, a Mul by a
 * constant [heads, 1, 1] factor (0 for the knocked-out heads), written node by node; its outputs
 * are the original logits and every attention Softmax's output (after the factor, where one is).
 */
function ablatedTwin(bytes: Uint8Array, heads: number, knockedOut: { layer: number; head: number }[]): Uint8Array {
  const softmaxes = exposeAttention(bytes).attention.map((a) => (a.source.kind === 'softmax' ? a.source.output : ''));
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnx.GraphProto;
  const outputs = [graph.output[0].name ?? ''];
  softmaxes.forEach((probs, layer) => {
    const out = knockedOut.some((k) => k.layer === layer) ? `twin/${layer}/ablated` : probs;
    outputs.push(out);
    if (out === probs) return;
    const factor = new Float32Array(heads).fill(1);
    for (const k of knockedOut) if (k.layer === layer) factor[k.head] = 0;
    graph.initializer.push(
      onnx.TensorProto.create({
        name: `twin/${layer}/factor`,
        dataType: onnx.TensorProto.DataType.FLOAT,
        dims: [heads, 1, 1],
        floatData: Array.from(factor),
      }),
    );
    for (const n of graph.node) n.input = (n.input ?? []).map((i) => (i === probs ? out : i));
    const at = graph.node.findIndex((n) => n.output?.[0] === probs);
    graph.node.splice(
      at + 1,
      0,
      onnx.NodeProto.create({ opType: 'Mul', input: [probs, `twin/${layer}/factor`], output: [out] }),
    );
  });
  graph.output = outputs.map((name) => onnx.ValueInfoProto.create({ name }));
  return onnx.ModelProto.encode(model).finish();
}

async function runTwin(bytes: Uint8Array, ids: number[]): Promise<Float32Array[]> {
  const ortNode = await import('onnxruntime-node');
  const s = await ortNode.InferenceSession.create(bytes);
  const feeds: Record<string, InstanceType<typeof ortNode.Tensor>> = {};
  for (const n of s.inputNames)
    feeds[n] = new ortNode.Tensor(
      'int64',
      BigInt64Array.from(/attention_mask/.test(n) ? ids.map(() => 1n) : ids.map(BigInt)),
      [1, ids.length],
    );
  const out = await s.run(feeds);
  const all = s.outputNames.map((n) => out[n].data as Float32Array);
  await s.release();
  return all;
}

for (const [name, file, ids] of [
  ['the bundled model', BUNDLED, IDS],
  ['gpt2.onnx', path.join(FIXTURES, 'gpt2.onnx'), [5, 17, 42, 99, 7, 17, 42, 99, 3, 250, 11, 12]],
] as const) {
  test(`knocking heads out (${name}) equals a twin whose heads' probabilities are multiplied by zero, run by onnxruntime-node, to 1e-4`, async () => {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const session = await AttentionSession.create(
      exposeAttention(bytes, { logits: true, interventions: true }),
      [],
      'wasm',
    );
    const plain = await session.run([...ids]);
    const plainLogits = (await session.runLogits([...ids])).logits;
    const heads = plain.heads;
    const last = plain.layers.length - 1;
    const knockedOut = [
      { layer: 0, head: 1 },
      { layer: 0, head: heads - 1 },
      { layer: last, head: 0 },
    ];
    const intervention: Intervention = { heads: knockedOut, hiddenTokens: [] };
    const ablated = await session.run([...ids], intervention);
    const { logits } = await session.runLogits([...ids], intervention);
    await session.release();
    const [twinLogits, ...twinAttention] = await runTwin(ablatedTwin(bytes, heads, knockedOut), [...ids]);
    assert.ok(maxDiff(logits, twinLogits) < 1e-4, `logits differ by ${maxDiff(logits, twinLogits)}`);
    assert.ok(maxDiff(logits, plainLogits) > 1e-3, 'the knock-out changes the predictions');
    ablated.layers.forEach((layer, l) =>
      assert.ok(maxDiff(layer, twinAttention[l]) < 1e-4, `layer ${l}: ${maxDiff(layer, twinAttention[l])}`),
    );
    // What the panel shows of a knocked-out head: nothing; the others of its layer as they were.
    const t = ids.length;
    const headOf = (layer: Float32Array, h: number): Float32Array => layer.subarray(h * t * t, (h + 1) * t * t);
    assert.ok(headOf(ablated.layers[0], 1).every((v) => v === 0));
    assert.ok(maxDiff(headOf(ablated.layers[0], 0), headOf(plain.layers[0], 0)) < 1e-6);
    // A later layer's attention changed, because what it reads changed.
    assert.ok(maxDiff(ablated.layers[1], plain.layers[1]) > 1e-4);
  });
}

for (const [name, file, ids] of [
  ['the bundled model, causal', BUNDLED, IDS],
  ['bert.onnx, bidirectional', path.join(FIXTURES, 'bert.onnx'), readReference('bert').input_ids[0]],
  ['bert-fp16.onnx, float16 scores', path.join(FIXTURES, 'bert-fp16.onnx'), readReference('bert-fp16').input_ids[0]],
] as const) {
  test(`hiding a token (${name}) gives it zero attention from every other token in every layer and head; the rows still sum to 1`, async () => {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const session = await AttentionSession.create(exposeAttention(bytes, { interventions: true }), [], 'wasm');
    const plain = await session.run([...ids]);
    const hidden = [3, 5];
    const out = await session.run([...ids], { heads: [], hiddenTokens: hidden });
    await session.release();
    const t = ids.length;
    let changed = 0;
    out.layers.forEach((layer, l) => {
      for (let h = 0; h < out.heads; h++)
        for (let i = 0; i < t; i++) {
          const row = layer.subarray((h * t + i) * t, (h * t + i + 1) * t);
          for (const j of hidden) if (i !== j) assert.equal(row[j], 0, `layer ${l} head ${h}: row ${i} → ${j}`);
          // (float16 probabilities carry 3 significant digits)
          const sum = row.reduce((s, v) => s + v, 0);
          assert.ok(
            Math.abs(sum - 1) < (name.includes('float16') ? 3e-3 : 1e-5),
            `layer ${l} head ${h} row ${i}: ${sum}`,
          );
          changed = Math.max(changed, maxDiff(row, plain.layers[l].subarray((h * t + i) * t, (h * t + i + 1) * t)));
        }
    });
    assert.ok(changed > 1e-3, 'hiding changed the attention');
    // In a causal model the rows before the first hidden token do not see it anyway: unchanged.
    if (name.includes('causal'))
      for (let h = 0; h < out.heads; h++)
        for (let i = 0; i < hidden[0]; i++)
          assert.ok(
            maxDiff(
              out.layers[0].subarray((h * t + i) * t, (h * t + i + 1) * t),
              plain.layers[0].subarray((h * t + i) * t, (h * t + i + 1) * t),
            ) < 1e-6,
          );
  });
}

test('the graph prepared for interventions gives, without one, the same attention and logits as the plain graph', async () => {
  const bytes = new Uint8Array(fs.readFileSync(BUNDLED));
  const withInputs = await AttentionSession.create(
    exposeAttention(bytes, { logits: true, interventions: true }),
    [],
    'wasm',
  );
  const plain = await AttentionSession.create(exposeAttention(bytes, { logits: true }), [], 'wasm');
  const a = await withInputs.run(IDS);
  const b = await plain.run(IDS);
  a.layers.forEach((l, i) => assert.ok(maxDiff(l, b.layers[i]) < 1e-6));
  assert.ok(maxDiff((await withInputs.runLogits(IDS)).logits, (await plain.runLogits(IDS)).logits) < 1e-5);
  await assert.rejects(
    plain.run(IDS, { heads: [{ layer: 0, head: 0 }], hiddenTokens: [] }),
    /prepared without interventions/,
  );
  await withInputs.release();
  await plain.release();
});

test('interventions that cannot be made are refused with the reason, and the session keeps working', async () => {
  const bytes = new Uint8Array(fs.readFileSync(BUNDLED));
  const session = await AttentionSession.create(exposeAttention(bytes, { interventions: true }), [], 'wasm');
  const { heads, layers } = await session.run(IDS);
  const every = Array.from({ length: layers.length * heads }, (_, i) => ({
    layer: Math.floor(i / heads),
    head: i % heads,
  }));
  const t = IDS.length;
  const refused: [Intervention, RegExp][] = [
    [{ heads: every, hiddenTokens: [] }, /knocking out all 32 heads leaves the model no attention at all/],
    [{ heads: [], hiddenTokens: IDS.map((_, i) => i) }, new RegExp(`hiding every token .* all ${t}`)],
    [{ heads: [{ layer: 4, head: 0 }], hiddenTokens: [] }, /there is no head 4:0 \(the model has 4 layers × 8 heads\)/],
    [{ heads: [{ layer: 0, head: 8 }], hiddenTokens: [] }, /there is no head 0:8/],
    [{ heads: [], hiddenTokens: [t] }, new RegExp(`there is no token ${t} to hide`)],
  ];
  for (const [intervention, why] of refused)
    await assert.rejects(
      session.run(IDS, intervention),
      (e: Error) => e instanceof InterventionError && why.test(e.message),
    );
  assert.equal((await session.run(IDS, { heads: every.slice(1), hiddenTokens: [] })).layers.length, 4);
  await session.release();
  // Before opset 15 there is no CastLike to bring the inputs to the scores' type.
  assert.throws(() => exposeAttention(withOpset(bytes, 14), { interventions: true }), /opset 15 or later .* opset 14/);
});

/** The graph with its ONNX opset import set to `version` (what the surgery checks). */
function withOpset(bytes: Uint8Array, version: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const o of model.opsetImport) if (!o.domain || o.domain === 'ai.onnx') o.version = version;
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A fused operator hides its probabilities, so an intervention goes through what it takes from
 * outside (its bias input, the slice of its output per head); the same intervention on an unfused
 * twin (its own Softmax, the path checked above against onnxruntime-node) must give the same.
 */
for (const [name, build] of [
  [
    'GroupQueryAttention with rotary inside (one layer, its logits)',
    async () => {
      const { gqaModels } = await import('../support/gqa-model');
      return gqaModels(12);
    },
  ],
  [
    'MultiHeadAttention (fused-mha.onnx, two layers, an attention_bias on the second)',
    async () => {
      const { fusedMhaWithBias, unfusedMultiHeadAttention } = await import('../support/unfused-mha');
      const fused = fusedMhaWithBias(12).bytes;
      return { fused, twin: unfusedMultiHeadAttention(fused, 16) };
    },
  ],
  [
    'com.microsoft.Attention with packed weights, as ONNX Runtime optimizes BERT',
    async () => {
      const { unfusedMultiHeadAttention } = await import('../support/unfused-mha');
      const { packedAttention } = await import('../support/packed-attention');
      const fixture = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'fused-mha.onnx')));
      return { fused: packedAttention(fixture).packed, twin: unfusedMultiHeadAttention(fixture, 16) };
    },
  ],
  [
    "ONNX's own Attention (opset 23)",
    async () => {
      const { unfusedMultiHeadAttention } = await import('../support/unfused-mha');
      const fixture = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'fused-mha.onnx')));
      const model = onnx.ModelProto.decode(fixture);
      for (const n of model.graph!.node!)
        if (n.opType === 'MultiHeadAttention') {
          n.opType = 'Attention';
          n.domain = '';
          n.attribute = ['q_num_heads', 'kv_num_heads'].map((name) =>
            onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: 4 }),
          );
        }
      for (const o of model.opsetImport) if (!o.domain) o.version = 23;
      model.irVersion = 10;
      return { fused: onnx.ModelProto.encode(model).finish(), twin: unfusedMultiHeadAttention(fixture, 16) };
    },
  ],
] as const) {
  test(`interventions on fused attention (${name}) equal the same interventions on an unfused twin, to 1e-4`, async () => {
    const { fused, twin } = await build();
    const ids = [5, 17, 42, 9, 7, 17, 42, 9, 3, 25, 11, 12];
    const t = ids.length;
    const intervention: Intervention = { heads: [{ layer: 0, head: 1 }], hiddenTokens: [3, 5] };
    const runs = async (bytes: Uint8Array) => {
      const graph = exposeAttention(bytes, { logits: true, interventions: true });
      assert.equal(graph.interventionsRefused, null);
      const session = await AttentionSession.create(graph, [], 'wasm');
      const plain = await session.run(ids);
      const changed = await session.run(ids, intervention);
      const logits = graph.logits ? (await session.runLogits(ids, intervention)).logits : null;
      const plainLogits = graph.logits ? (await session.runLogits(ids)).logits : null;
      await session.release();
      return { graph, plain, changed, logits, plainLogits };
    };
    const f = await runs(fused);
    const w = await runs(twin);
    assert.ok(f.graph.attention.every((a) => a.source.kind === 'fused'));
    assert.ok(w.graph.attention.every((a) => a.source.kind === 'softmax'));
    f.changed.layers.forEach((layer, l) => {
      assert.ok(maxDiff(layer, w.changed.layers[l]) < 1e-4, `layer ${l}: ${maxDiff(layer, w.changed.layers[l])}`);
      assert.ok(maxDiff(f.plain.layers[l], w.plain.layers[l]) < 1e-4, `plain layer ${l}`);
      // The knocked-out head shows nothing; a hidden token gets nothing from any other row.
      for (let h = 0; h < f.changed.heads; h++)
        for (let i = 0; i < t; i++) {
          const row = layer.subarray((h * t + i) * t, (h * t + i + 1) * t);
          if (l === 0 && h === 1) assert.ok(row.every((v) => v === 0));
          else for (const j of intervention.hiddenTokens) if (j !== i) assert.equal(row[j], 0);
        }
    });
    if (f.logits && w.logits && f.plainLogits) {
      assert.ok(maxDiff(f.logits, w.logits) < 1e-4, `logits differ by ${maxDiff(f.logits, w.logits)}`);
      assert.ok(maxDiff(f.logits, f.plainLogits) > 1e-3, 'the intervention changes the predictions');
    } else {
      // No logits (an encoder): the second layer's attention reads what the first passed on, so it
      // shows whether the operator itself ran with the intervention.
      assert.equal(f.changed.layers.length, 2);
      assert.ok(maxDiff(f.changed.layers[1], f.plain.layers[1]) > 1e-3);
    }
  });
}

test('the CLI: predict and attention with --ablate and --hide-tokens; a bad list is a usage error', () => {
  const run = (args: string[]): unknown =>
    JSON.parse(execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' }));
  const ids = IDS.join(',');
  const plain = run(['predict', '--ids', ids]) as { predictions: { logprob: number | null }[] };
  const ablated = run(['predict', '--ids', ids, '--ablate', '3:7,2:0']) as typeof plain;
  assert.equal(ablated.predictions.length, IDS.length);
  const delta = ablated.predictions.map((p, i) => (p.logprob ?? 0) - (plain.predictions[i].logprob ?? 0));
  assert.ok(Math.max(...delta.map(Math.abs)) > 1e-3, 'knocking out the induction head changes the predictions');
  const att = run(['attention', '--ids', ids, '--ablate', '3:7', '--hide-tokens', '2']) as {
    attentions: number[][][][];
  };
  assert.ok(att.attentions[3][7].every((row) => row.every((v) => v === 0)));
  for (const [l, layer] of att.attentions.entries())
    for (const head of layer) head.forEach((row, i) => i !== 2 && assert.equal(row[2], 0, `layer ${l}, row ${i}`));
  const bad = spawnSync(process.execPath, [CLI, 'predict', '--ids', ids, '--ablate', '3-7'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--ablate takes layer:head pairs/);
  const none = spawnSync(process.execPath, [CLI, 'predict', '--ids', ids, '--ablate', '9:0'], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /there is no head 9:0/);
});

test('what an intervention changed: Δ surprisal and KL in bits, worked by hand; heads ranked by how far their rows moved', () => {
  // Two tokens, vocabulary 2: the plain run gives the next token 3/4, the intervened run 1/4.
  const plain = Float32Array.from([0, Math.log(3), 0, 0]);
  const intervened = Float32Array.from([Math.log(3), 0, 0, 0]);
  const [first, last] = tokenEffects(plain, intervened, 2, [0, 1]);
  assert.ok(Math.abs((first.deltaSurprisal ?? NaN) - Math.log2(3)) < 1e-6, String(first.deltaSurprisal));
  assert.ok(Math.abs(first.kl - 0.5 * Math.log2(3)) < 1e-6, String(first.kl));
  assert.equal(last.deltaSurprisal, null);
  assert.equal(last.kl, 0);
  const same = tokenEffects(plain, plain, 2, [0, 1]);
  assert.deepEqual(
    same.map((e) => [e.deltaSurprisal, e.kl]),
    [
      [0, 0],
      [null, 0],
    ],
  );
  // One layer, two heads, two tokens: head 1's second row moves from [1, 0] to [0, 1].
  const a = [Float32Array.from([1, 0, 0.5, 0.5, 1, 0, 1, 0])];
  const b = [Float32Array.from([1, 0, 0.5, 0.5, 1, 0, 0, 1])];
  assert.deepEqual(headChanges(a, b, 2, 2), [
    { layer: 0, head: 1, change: 0.5 },
    { layer: 0, head: 0, change: 0 },
  ]);
  assert.deepEqual(headChanges(a, b, 2, 2, [{ layer: 0, head: 1 }]), [{ layer: 0, head: 0, change: 0 }]);
});

test('the CLI predict --ablate says what changed: Δ surprisal equals the two runs’ log-probabilities apart, and only later layers’ heads moved', () => {
  const ids = IDS.join(',');
  type Out = {
    predictions: { logprob: number | null }[];
    effects?: {
      perToken: { deltaSurprisal: number | null; kl: number }[];
      meanKl: number;
      changedHeads: { layer: number; head: number; change: number }[];
    };
  };
  const run = (args: string[]): Out =>
    JSON.parse(execFileSync(process.execPath, [CLI, 'predict', '--ids', ids, ...args], { encoding: 'utf8' })) as Out;
  const plain = run([]);
  assert.equal(plain.effects, undefined, 'no effects without an intervention');
  const ablated = run(['--ablate', '1:3']);
  const effects = ablated.effects ?? assert.fail('effects are printed');
  effects.perToken.forEach((e, i) => {
    const before = plain.predictions[i].logprob;
    const after = ablated.predictions[i].logprob;
    if (before === null || after === null) return assert.equal(e.deltaSurprisal, null);
    assert.ok(Math.abs((e.deltaSurprisal ?? NaN) - (before - after) / Math.LN2) < 1e-4, `token ${i}`);
    assert.ok(e.kl >= 0);
  });
  assert.ok(effects.meanKl > 0);
  assert.equal(effects.changedHeads.length, 10);
  assert.ok(!effects.changedHeads.some((h) => h.layer === 1 && h.head === 3), 'the knocked-out head is not listed');
  // Knocking out a layer-1 head moves only what reads its output: heads of layers 2 and 3.
  for (const h of effects.changedHeads) if (h.change > 1e-6) assert.ok(h.layer >= 2, JSON.stringify(h));
  assert.ok(effects.changedHeads[0].layer >= 2 && effects.changedHeads[0].change > 1e-3);
});

test('predictions over windows: each token’s from the first window that also holds the token after it, fetched in the same runs as the attention', async () => {
  const bytes = new Uint8Array(fs.readFileSync(BUNDLED));
  const session = await AttentionSession.create(exposeAttention(bytes, { logits: true }), [], 'wasm');
  // 400 tokens in the bundled model's 256-token context: windows [0, 256) and [192, 400).
  const ids = Array.from({ length: 400 }, (_, i) => 100 + ((i * 7919) % 7000));
  const a = await analyseIds(session, ids, 256, 400, undefined, { predictions: true });
  assert.deepEqual(
    a.plan.windows.map((w) => [w.start, w.end]),
    [
      [0, 256],
      [192, 400],
    ],
  );
  const predicted = a.predictions ?? assert.fail('predictions were asked for');
  assert.equal(predicted.length, 400);
  const direct = async (from: number, to: number) => {
    const { logits, vocabulary } = await session.runLogits(ids.slice(from, to));
    return predictionsFrom(logits, vocabulary, ids.slice(from, to));
  };
  const first = await direct(0, 256);
  const second = await direct(192, 400);
  const same = (p: (typeof predicted)[number], q: (typeof predicted)[number], where: string) => {
    assert.ok(Math.abs((p.logprob ?? 0) - (q.logprob ?? 0)) < 1e-5, where);
    assert.equal(p.logprob === null, q.logprob === null, where);
    assert.deepEqual(
      p.top.map((c) => c.id),
      q.top.map((c) => c.id),
      where,
    );
  };
  for (const i of [0, 100, 254]) same(predicted[i], first[i], `token ${i}, first window`);
  // The first window's last token is followed there by nothing: its prediction comes from the second.
  for (const i of [255, 256, 300, 398]) same(predicted[i], second[i - 192], `token ${i}, second window`);
  assert.equal(predicted[399].logprob, null, 'what follows the last token was not analysed');
  same(predicted[399], second[207], 'the last token’s top 5');
  // Fetching the logits in the same run leaves the attention as it was.
  const plain = await analyseIds(session, ids, 256, 400);
  assert.equal(plain.predictions, undefined);
  for (let w = 0; w < 2; w++)
    a.store.windows[w].layers.forEach((l, i) => assert.ok(maxDiff(l, plain.store.windows[w].layers[i]) < 1e-6));
  await session.release();
  const encoder = await AttentionSession.create(
    exposeAttention(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'bert.onnx'))), { logits: true }),
    [],
    'wasm',
  );
  await assert.rejects(
    analyseIds(encoder, readReference('bert').input_ids[0], 512, 512, undefined, { predictions: true }),
    /predictions need the model's logits.*its outputs: /,
  );
  await encoder.release();
});

test('an intervention over windows: a hidden token gets nothing from any other row in any window, a knocked-out head nothing at all; what changed is gathered per token and per head', async () => {
  const bytes = new Uint8Array(fs.readFileSync(BUNDLED));
  const graph = exposeAttention(bytes, { logits: true, interventions: 'if-possible' });
  assert.equal(graph.interventionsRefused, null);
  const session = await AttentionSession.create(graph, [], 'wasm');
  // 400 tokens: windows [0, 256) and [192, 400). Token 10 lies in the first only, 300 in the
  // second only, 200 in both.
  const ids = Array.from({ length: 400 }, (_, i) => 100 + ((i * 7919) % 7000));
  const intervention = { heads: [{ layer: 1, head: 3 }], hiddenTokens: [10, 200, 300] };
  const a = await analyseIds(session, ids, 256, 400, undefined, { predictions: true, intervention });
  const plain = await analyseIds(session, ids, 256, 400, undefined, { predictions: true });
  assert.equal(plain.effects, undefined);
  const effects = a.effects ?? assert.fail('effects of the intervention');
  for (let layer = 0; layer < 4; layer++)
    for (const h of [0, 5])
      for (const q of [11, 150, 201, 255, 256, 301, 399])
        for (const k of [10, 200, 300])
          if (k < q) assert.equal(a.store.weight(layer, h, q, k), 0, `layer ${layer} head ${h}: ${q} → ${k}`);
  for (const q of [5, 150, 350])
    assert.equal(
      a.store.denseRow(1, 3, q).reduce((s, x) => s + x, 0),
      0,
    );
  // Rows before the first hidden token, in a layer before the knocked-out head, are untouched (causal).
  for (const q of [0, 5, 9])
    assert.ok(maxDiff(a.store.denseRow(0, 2, q), plain.store.denseRow(0, 2, q)) < 1e-6, `row ${q}`);
  const perToken = effects.perToken ?? assert.fail('per token, with predictions');
  assert.equal(perToken.length, 400);
  // Δ surprisal is the two runs' log-probabilities apart, in bits, token by token across both windows.
  for (const i of [3, 100, 254, 255, 300, 398]) {
    const before = plain.predictions![i].logprob!;
    const after = a.predictions![i].logprob!;
    assert.ok(Math.abs(perToken[i].deltaSurprisal! - (before - after) / Math.LN2) < 1e-4, `token ${i}`);
  }
  assert.equal(perToken[399].deltaSurprisal, null);
  assert.ok(perToken.every((e) => e.kl >= 0));
  // The knocked-out head is not among the changed heads (its change is the intervention); the others
  // are all there, ranked.
  assert.equal(effects.heads.length, 31);
  assert.ok(!effects.heads.some((h) => h.layer === 1 && h.head === 3));
  assert.ok(effects.heads.every((h, i) => i === 0 || effects.heads[i - 1].change >= h.change));
  assert.ok(effects.heads[0].change > 0.01, JSON.stringify(effects.heads[0]));
  await session.release();
  // A graph that cannot take interventions is prepared without them, and says why.
  const old = exposeAttention(withOpset(new Uint8Array(fs.readFileSync(BUNDLED)), 14), {
    interventions: 'if-possible',
  });
  assert.equal(old.interventions, false);
  assert.match(old.interventionsRefused ?? '', /opset 15/);
});
