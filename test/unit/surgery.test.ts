import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { exposeAttention } from '../../src/engine/attention-graph';
import { AttentionNotFoundError, ModelFormatError } from '../../src/engine/graph-errors';
import { mergedDecoder } from '../support/merged-decoder';
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
    assert.ok(
      g.inputs.some((i) => i.name === 'input_ids'),
      file,
    );
  }
  const llama = exposeAttention(read(path.join(FIXTURES, 'llama-dynamo.onnx')));
  assert.deepEqual(llama.externalDataFiles, ['llama-dynamo.onnx.data']);
  const bundled = exposeAttention(read(path.join(BUNDLED_MODEL_DIR, 'model.onnx')));
  assert.deepEqual(
    bundled.attention.map((a) => a.layerName),
    ['/blocks.0/Softmax', '/blocks.1/Softmax', '/blocks.2/Softmax', '/blocks.3/Softmax'],
  );
  assert.deepEqual(
    bundled.fetches,
    bundled.attention.map((a) => (a.source.kind === 'softmax' ? a.source.output : '')),
  );
});

test('fused MultiHeadAttention operators are found, and their query and key exposed', () => {
  const g = exposeAttention(read(path.join(FIXTURES, 'fused-mha.onnx')));
  assert.equal(g.attention.length, 2);
  assert.deepEqual(
    g.attention.map((a) => a.source.kind),
    ['fused', 'fused'],
  );
  assert.deepEqual(g.fetches, ['q0', 'k0', 'q1', 'k1']);
  const src = g.attention[0].source;
  assert.ok(src.kind === 'fused' && src.spec.qHeads === 4 && src.op === 'com.microsoft.MultiHeadAttention');
});

/** A graph of one com.microsoft operator (enough for the surgery to judge it). */
function contribGraph(node: onnx.INodeProto, inputs: string[]): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: { name: 'g', node: [node], input: inputs.map((name) => ({ name })), output: [{ name: 'y' }] },
    }),
  ).finish();
}

test('a fused operator that truly hides the probabilities is named, with the export to use instead', () => {
  const bytes = contribGraph(
    {
      opType: 'QAttention',
      domain: 'com.microsoft',
      name: 'attn0',
      input: ['x', 'w', 'b', 'x_scale', 'w_scale'],
      output: ['y'],
      attribute: [{ name: 'num_heads', type: onnx.AttributeProto.AttributeType.INT, i: 4 }],
    },
    ['x'],
  );
  assert.throws(
    () => exposeAttention(bytes),
    (e: Error) => {
      assert.ok(e instanceof AttentionNotFoundError);
      assert.match(e.message, /com\.microsoft\.QAttention operators \(node "attn0"\)/);
      assert.match(e.message, /packed weights/);
      assert.match(e.message, /unfused export/);
      return true;
    },
  );
});

test('GroupQueryAttention variants that cannot be recovered are named, with the export to use', () => {
  const gqa = (attribute: onnx.IAttributeProto[], input: string[]) =>
    contribGraph(
      {
        opType: 'GroupQueryAttention',
        domain: 'com.microsoft',
        name: 'gqa0',
        input,
        output: ['y'],
        attribute: [
          { name: 'num_heads', type: onnx.AttributeProto.AttributeType.INT, i: 4 },
          { name: 'kv_num_heads', type: onnx.AttributeProto.AttributeType.INT, i: 2 },
          ...attribute,
        ],
      },
      ['q', 'k', 'v'],
    );
  const refused = (bytes: Uint8Array, why: RegExp) =>
    assert.throws(
      () => exposeAttention(bytes),
      (e: Error) =>
        e instanceof AttentionNotFoundError &&
        /com\.microsoft\.GroupQueryAttention operators \(node "gqa0"\)/.test(e.message) &&
        why.test(e.message) &&
        /unfused export/.test(e.message),
    );
  const base = ['q', 'k', 'v', '', '', 'seqlens', 'total'];
  refused(
    gqa([{ name: 'smooth_softmax', type: onnx.AttributeProto.AttributeType.INT, i: 1 }], base),
    /smoothed softmax/,
  );
  refused(gqa([], [...base, '', '', '', 'bias']), /attention bias/);
  refused(gqa([], [...base, '', '', '', '', 'sinks']), /attention sinks/);
  // Rotary inside, but its caches computed at run time rather than stored.
  refused(
    gqa([{ name: 'do_rotary', type: onnx.AttributeProto.AttributeType.INT, i: 1 }], [...base, 'cos', 'sin']),
    /cos\/sin caches that are not float initializers/,
  );
});

test('a graph with no attention at all says what was searched for', () => {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
      input: [{ name: 'x' }],
      output: [{ name: 'y' }],
    },
  });
  assert.throws(
    () => exposeAttention(onnx.ModelProto.encode(model).finish()),
    /No attention found: searched for a Softmax whose output multiplies the values.*fused attention operators/,
  );
});

test('attention inside an If whose condition is not known before the run is reported as such', () => {
  const model = onnx.ModelProto.decode(mergedDecoder(read(path.join(FIXTURES, 'gpt2.onnx'))));
  const g = model.graph as onnx.GraphProto;
  g.input = g.input.filter((i) => i.name !== 'use_cache_branch');
  // The condition is now computed from the input: nothing outside the run can say which branch runs.
  g.node.unshift(
    onnx.NodeProto.create({ opType: 'Shape', input: ['input_ids'], output: ['shape'] }),
    onnx.NodeProto.create({ opType: 'ReduceProd', input: ['shape'], output: ['count'] }),
    onnx.NodeProto.create({ opType: 'Greater', input: ['count', 'limit'], output: ['use_cache_branch_cond'] }),
  );
  g.initializer.push(
    onnx.TensorProto.create({ name: 'limit', dataType: onnx.TensorProto.DataType.INT64, dims: [], int64Data: [1000] }),
  );
  g.node[3].input = ['use_cache_branch_cond'];
  assert.throws(
    () => exposeAttention(onnx.ModelProto.encode(model).finish()),
    (e: Error) =>
      e instanceof AttentionNotFoundError && /2 Softmax nodes sit inside If\/Loop\/Scan subgraphs/.test(e.message),
  );
});

test('a truncated or non-ONNX file is refused with a clear message', () => {
  const whole = read(path.join(FIXTURES, 'gpt2.onnx'));
  for (const bytes of [
    whole.subarray(0, whole.length / 3),
    new TextEncoder().encode('<html>not a model</html>'.repeat(4)),
    new Uint8Array(3),
  ]) {
    assert.throws(
      () => exposeAttention(bytes),
      (e: Error) => e instanceof ModelFormatError && /ONNX/.test(e.message),
    );
  }
});
