import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { estimateMemory, shapeFromConfig, tokensThatFit, WASM_HEAP_BYTES } from '../../src/common/memory-estimate';
import type { HubGraph } from '../../src/host/hub-download';
import { localWeightBytes, memoryRefusal } from '../../src/host/model-memory';
import { resolveLocalModel } from '../../src/host/model-source';
import { chooseVariants, describeVariant, precisionOf } from '../../src/host/variant-choice';

const GiB = 1024 ** 3;
/** Qwen2.5-0.5B's shape, as its config.json says it. */
const QWEN_05B = '{"num_hidden_layers":24,"num_attention_heads":14,"max_position_embeddings":32768}';

test('the shape is read from config.json under the names model families use', () => {
  assert.deepEqual(shapeFromConfig(QWEN_05B), { layers: 24, heads: 14, context: 32768 });
  assert.deepEqual(shapeFromConfig('{"n_layer":12,"n_head":12,"n_positions":1024}'), {
    layers: 12,
    heads: 12,
    context: 1024,
  });
  assert.deepEqual(shapeFromConfig('{"text_config":{"num_hidden_layers":26,"num_attention_heads":8}}'), {
    layers: 26,
    heads: 8,
    context: undefined,
  });
  assert.equal(shapeFromConfig('{"hidden_size":8}'), undefined);
  assert.equal(shapeFromConfig('not json'), undefined);
  assert.equal(shapeFromConfig(undefined), undefined);
});

test('the estimate counts the weights, one window of attention (layers × heads × T² floats) and the runtime', () => {
  const shape = { layers: 24, heads: 14 };
  const e = estimateMemory(1 * GiB, shape, 1024);
  assert.equal(e.attention, 24 * 14 * 1024 * 1024 * 4);
  assert.ok(e.total > e.weights + e.attention, 'the runtime’s own memory is counted');
  assert.equal(e.fits, true);
  // 2 GiB of float32 weights and 4,096 tokens (22.5 GiB of attention) cannot fit in 4 GiB.
  assert.equal(estimateMemory(2 * GiB, shape, 4096).fits, false);
  // tokensThatFit is the largest T that fits.
  const t = tokensThatFit(2 * GiB, shape);
  assert.equal(estimateMemory(2 * GiB, shape, t).fits, true);
  assert.equal(estimateMemory(2 * GiB, shape, t + 1).fits, false);
  assert.equal(tokensThatFit(WASM_HEAP_BYTES, shape), 0);
});

const variant = (graph: string, mib: number, externalData: string[] = []): HubGraph => ({
  graph,
  externalData,
  bytes: mib * 1024 ** 2,
});

test('Choose Model offers the smallest variant that fits first, marks what does not fit, and says the precision', () => {
  const graphs = [
    variant('onnx/model.onnx', 3800, ['onnx/model.onnx_data', 'onnx/model.onnx_data_1']),
    variant('onnx/model_fp16.onnx', 1900, ['onnx/model_fp16.onnx_data']),
    variant('onnx/model_q4.onnx', 760),
    variant('onnx/model_q4f16.onnx', 480),
    variant('onnx/model_uint8.onnx', 950),
  ];
  const c = chooseVariants('org/llm', graphs, shapeFromConfig(QWEN_05B), 1024);
  assert.equal(c.refusal, undefined);
  assert.deepEqual(
    c.options.map((o) => o.graph.graph),
    ['onnx/model_q4f16.onnx', 'onnx/model_q4.onnx', 'onnx/model_uint8.onnx', 'onnx/model_fp16.onnx', 'onnx/model.onnx'],
  );
  assert.equal(c.options[0].suggested, true);
  assert.equal(c.options.filter((o) => o.suggested).length, 1);
  const fp32 = c.options[c.options.length - 1];
  assert.equal(fp32.estimate?.fits, false, 'the 3.7 GiB float32 graph and 1.3 GiB of attention exceed 4 GiB');
  const shown = describeVariant(fp32);
  assert.match(shown.description, /^float32 · 3800\.0 MB in 3 files$/);
  assert.match(
    shown.detail ?? '',
    /^Does not fit: needs about 5\.\d GiB of WebAssembly's 4\.0 GiB \(weights 3\.7 GiB, attention of 1024 tokens 1\.3 GiB\)$/,
  );
  assert.match(describeVariant(c.options[0]).description, /^4-bit weights, float16 · 480\.0 MB · suggested$/);
  assert.match(describeVariant(c.options[0]).detail ?? '', /^Fits: /);
  assert.deepEqual(
    [
      'model_q4.onnx',
      'model_bnb4.onnx',
      'model_uint8.onnx',
      'model_quantized.onnx',
      'model_fp16.onnx',
      'model.onnx',
    ].map(precisionOf),
    ['4-bit weights', '4-bit weights (bitsandbytes)', '8-bit weights', '8-bit weights', 'float16', 'float32'],
  );
});

test('a repository whose variants all exceed the estimate is refused before downloading, with a maxTokens that would fit', () => {
  const c = chooseVariants(
    'org/huge',
    [variant('onnx/model.onnx', 3000), variant('onnx/model_fp16.onnx', 1500)],
    shapeFromConfig(QWEN_05B),
    8192,
  );
  assert.ok(c.refusal);
  assert.match(
    c.refusal,
    /^no variant of org\/huge fits in the panel's memory: the smallest, onnx\/model_fp16\.onnx, needs about/,
  );
  const room = /maxTokens at (\d+) or fewer/.exec(c.refusal);
  assert.ok(room, c.refusal);
  assert.equal(estimateMemory(1500 * 1024 ** 2, { layers: 24, heads: 14 }, Number(room[1])).fits, true);
  // Without config.json nothing can be judged: every variant is offered.
  assert.equal(chooseVariants('org/huge', [variant('onnx/model.onnx', 3000)], undefined, 8192).refusal, undefined);
});

test('a local model that does not fit is refused with the variant beside it that does, or a maxTokens', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-mem-'));
  try {
    // Sparse files: sizes without the bytes.
    const sized = (f: string, bytes: number): void => {
      const fd = fs.openSync(path.join(dir, f), 'w');
      fs.ftruncateSync(fd, bytes);
      fs.closeSync(fd);
    };
    sized('model.onnx', 1000);
    sized('model.onnx_data', 2 * GiB);
    sized('model.onnx_data_1', 1.5 * GiB);
    sized('model_q4.onnx', 500 * 1024 ** 2);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model":{}}');
    fs.writeFileSync(path.join(dir, 'config.json'), QWEN_05B);
    assert.equal(localWeightBytes(path.join(dir, 'model.onnx')), 1000 + 3.5 * GiB);
    const refusal = memoryRefusal(resolveLocalModel(dir), 1024);
    assert.ok(refusal);
    assert.match(refusal, /^model\.onnx does not fit in the panel's memory: it needs about 5\.1 GiB/);
    assert.match(refusal, /open model_q4\.onnx beside it \(500 MB\), which fits/);
    assert.equal(memoryRefusal(resolveLocalModel(path.join(dir, 'model_q4.onnx')), 1024), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
