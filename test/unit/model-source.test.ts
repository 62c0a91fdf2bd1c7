import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ModelSourceError, resolveLocalModel } from '../../src/host/model-source';

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-model-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

test('a Hub-layout folder resolves to onnx/model.onnx with the tokenizer and configs one level up', () => {
  const dir = tree({
    'onnx/model.onnx': 'x',
    'onnx/model.onnx_data': 'x',
    'tokenizer.json': '{}',
    'config.json': '{}',
    'tokenizer_config.json': '{}',
  });
  const m = resolveLocalModel(dir);
  assert.equal(m.graph, path.join(dir, 'onnx', 'model.onnx'));
  assert.equal(m.tokenizer, path.join(dir, 'tokenizer.json'));
  assert.equal(m.config, path.join(dir, 'config.json'));
  assert.equal(m.tokenizerConfig, path.join(dir, 'tokenizer_config.json'));
  assert.deepEqual(m.roots, [path.join(dir, 'onnx'), dir]);
  assert.equal(m.name, path.basename(dir));
  // Choosing the .onnx file itself gives the same files.
  assert.equal(resolveLocalModel(path.join(dir, 'onnx', 'model.onnx')).tokenizer, m.tokenizer);
});

test('a flat folder and a lone .onnx file resolve; a variant keeps its file name', () => {
  const dir = tree({ 'model_quantized.onnx': 'x', 'tokenizer.json': '{}' });
  const m = resolveLocalModel(dir);
  assert.equal(m.graph, path.join(dir, 'model_quantized.onnx'));
  assert.equal(m.config, undefined);
  assert.match(m.name, /\/model_quantized\.onnx$/);
});

test('missing pieces are named: no tokenizer.json, no graph, not an .onnx file, a graph over 2 GB', () => {
  const noTok = tree({ 'model.onnx': 'x' });
  assert.throws(
    () => resolveLocalModel(noTok),
    (e: Error) => e instanceof ModelSourceError && /No tokenizer\.json next to model\.onnx/.test(e.message),
  );
  const noGraph = tree({ 'tokenizer.json': '{}', 'a.onnx': 'x', 'b.onnx': 'x' });
  assert.throws(
    () => resolveLocalModel(noGraph),
    /holds none of model\.onnx, encoder_model\.onnx.*it has a\.onnx, b\.onnx/,
  );
  assert.throws(() => resolveLocalModel(path.join(noGraph, 'tokenizer.json')), /is not an \.onnx file/);
  assert.throws(() => resolveLocalModel(path.join(noGraph, 'nope')), /does not exist/);
  const big = tree({ 'tokenizer.json': '{}' });
  const graph = path.join(big, 'model.onnx');
  fs.writeFileSync(graph, '');
  fs.truncateSync(graph, Math.round(2.2 * 1024 ** 3)); // sparse: no disk used
  assert.throws(() => resolveLocalModel(big), /2\.2 GB; graphs over 2 GB cannot be opened/);
});

test('an encoder-decoder export opens its encoder; a decoder exported with a cache opens the merged graph', () => {
  const t5 = tree({
    'onnx/encoder_model.onnx': 'x',
    'onnx/decoder_model.onnx': 'x',
    'onnx/decoder_with_past_model.onnx': 'x',
    'onnx/decoder_model_merged.onnx': 'x',
    'tokenizer.json': '{}',
    'config.json': '{}',
  });
  const m = resolveLocalModel(t5);
  assert.equal(m.graph, path.join(t5, 'onnx', 'encoder_model.onnx'));
  assert.equal(m.name, `${path.basename(t5)}/encoder_model.onnx`);
  const gpt = tree({
    'onnx/decoder_model.onnx': 'x',
    'onnx/decoder_with_past_model.onnx': 'x',
    'onnx/decoder_model_merged.onnx': 'x',
    'tokenizer.json': '{}',
  });
  assert.equal(resolveLocalModel(gpt).graph, path.join(gpt, 'onnx', 'decoder_model_merged.onnx'));
  const lone = tree({ 'onnx/custom.onnx': 'x', 'tokenizer.json': '{}' });
  assert.equal(resolveLocalModel(lone).graph, path.join(lone, 'onnx', 'custom.onnx'));
});
