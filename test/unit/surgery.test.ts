import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { AttentionNotFoundError, ModelFormatError, exposeAttention } from '../../src/engine/attention-graph';
import { BUNDLED_MODEL_DIR, FIXTURES } from '../support/paths';

const read = (p: string): Uint8Array => new Uint8Array(fs.readFileSync(p));

test('discovery finds one attention Softmax per layer, in graph order, in every fixture and the bundled model', () => {
  const cases: [string, number][] = [
    [path.join(FIXTURES, 'bert.onnx'), 2],
    [path.join(FIXTURES, 'gpt2.onnx'), 2],
    [path.join(FIXTURES, 'llama-dynamo.onnx'), 2],
    [path.join(FIXTURES, 'bert-fp16.onnx'), 2],
    [path.join(FIXTURES, 'bert-int8.onnx'), 2],
    [path.join(BUNDLED_MODEL_DIR, 'model.onnx'), 4],
  ];
  for (const [file, layers] of cases) {
    const g = exposeAttention(read(file));
    assert.equal(g.attention.length, layers, file);
    assert.ok(g.inputs.some((i) => i.name === 'input_ids'), file);
  }
  const llama = exposeAttention(read(path.join(FIXTURES, 'llama-dynamo.onnx')));
  assert.deepEqual(llama.externalDataFiles, ['llama-dynamo.onnx.data']);
  const bundled = exposeAttention(read(path.join(BUNDLED_MODEL_DIR, 'model.onnx')));
  assert.deepEqual(bundled.attention.map((a) => a.layerName), ['/blocks.0/Softmax', '/blocks.1/Softmax', '/blocks.2/Softmax', '/blocks.3/Softmax']);
});

test('a graph whose attention is fused says which operator hides it', () => {
  assert.throws(() => exposeAttention(read(path.join(FIXTURES, 'fused-mha.onnx'))), (e: Error) => {
    assert.ok(e instanceof AttentionNotFoundError);
    assert.match(e.message, /Softmax/);
    assert.match(e.message, /com\.microsoft\.MultiHeadAttention/);
    return true;
  });
});

test('a truncated or non-ONNX file is refused with a clear message', () => {
  const whole = read(path.join(FIXTURES, 'gpt2.onnx'));
  for (const bytes of [whole.subarray(0, whole.length / 3), new TextEncoder().encode('<html>not a model</html>'.repeat(4)), new Uint8Array(3)]) {
    assert.throws(() => exposeAttention(bytes), (e: Error) => e instanceof ModelFormatError && /ONNX/.test(e.message));
  }
});
