import { onnx } from 'onnx-proto';
import { xorshiftWeights } from '../test/support/random-weights';

/**
 * A BERT-base-sized encoder with random weights, for the benchmark: 12 layers, 12 heads, hidden
 * 768, feed-forward 3072, vocabulary 30,522, 512 positions (110 M parameters, 438 MB). Its graph
 * is what the TorchScript exporter writes for Hugging Face's BertModel with eager attention:
 * separate Q/K/V MatMuls, Reshape/Transpose to heads, Q·Kᵀ / 8 + mask, Softmax, P·V, GELU via Erf,
 * LayerNormalization; inputs input_ids, attention_mask, token_type_ids. The weights are uniform
 * in ±0.04 from a fixed seed, so two builds give the same model.
 */
export const BERT_BASE = { layers: 12, heads: 12, hidden: 768, ffn: 3072, vocab: 30522, positions: 512 };

export function buildBertBase(seed = 1): Uint8Array {
  const { layers, heads, hidden, ffn, vocab, positions } = BERT_BASE;
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const random = xorshiftWeights(seed).floats;
  const initializer: onnx.ITensorProto[] = [];
  const weight = (name: string, dims: number[], data: Float32Array): string => {
    initializer.push({
      name,
      dims,
      dataType: F,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  };
  const rand = (name: string, dims: number[], scale = 0.04): string =>
    weight(
      name,
      dims,
      random(
        dims.reduce((a, b) => a * b, 1),
        scale,
      ),
    );
  const filled = (name: string, dims: number[], v: number): string =>
    weight(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v));
  const ints = (name: string, values: number[]): string => {
    initializer.push({ name, dims: [values.length], dataType: I64, int64Data: values });
    return name;
  };
  const scalar = (name: string, v: number): string => weight(name, [], Float32Array.of(v));

  const node: onnx.INodeProto[] = [];
  let count = 0;
  const op = (
    opType: string,
    input: string[],
    attribute: onnx.IAttributeProto[] = [],
    name = `${opType}_${count++}`,
  ): string => {
    node.push({ opType, input, output: [name], name, attribute });
    return name;
  };
  const intsAttr = (name: string, v: number[]): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.INTS,
    ints: v,
  });
  const intAttr = (name: string, v: number): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.INT,
    i: v,
  });
  const floatAttr = (name: string, v: number): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.FLOAT,
    f: v,
  });
  const layerNorm = (input: string, prefix: string): string =>
    op(
      'LayerNormalization',
      [input, filled(`${prefix}.weight`, [hidden], 1), filled(`${prefix}.bias`, [hidden], 0)],
      [floatAttr('epsilon', 1e-12), intAttr('axis', -1)],
    );
  const linear = (input: string, prefix: string, inDim: number, outDim: number): string =>
    op('Add', [
      op('MatMul', [input, rand(`${prefix}.weight`, [inDim, outDim])]),
      rand(`${prefix}.bias`, [outDim], 0.02),
    ]);

  // Embeddings: words + positions 0…S-1 + token types.
  initializer.push(
    { name: 'zero_s', dims: [], dataType: I64, int64Data: [0] },
    { name: 'one_s', dims: [], dataType: I64, int64Data: [1] },
  );
  const seqLen = op('Gather', [op('Shape', ['input_ids']), 'one_s'], [intAttr('axis', 0)]);
  const positionIds = op('Unsqueeze', [op('Range', ['zero_s', seqLen, 'one_s']), ints('axes0', [0])]);
  const embedded = op('Add', [
    op('Add', [
      op('Gather', [rand('embeddings.word', [vocab, hidden]), 'input_ids']),
      op('Gather', [rand('embeddings.position', [positions, hidden]), positionIds]),
    ]),
    op('Gather', [rand('embeddings.token_type', [2, hidden]), 'token_type_ids']),
  ]);
  let h = layerNorm(embedded, 'embeddings.LayerNorm');
  // The extended mask: (1 - mask) · -10000 on the key axis, [batch, 1, 1, S].
  const mask = op('Mul', [
    op('Sub', [scalar('one_f', 1), op('Cast', ['attention_mask'], [intAttr('to', F)])]),
    scalar('neg', -10000),
  ]);
  const keyMask = op('Unsqueeze', [mask, ints('axes12', [1, 2])]);
  const toHeads = ints('to_heads', [0, 0, heads, hidden / heads]);
  const toHidden = ints('to_hidden', [0, 0, hidden]);

  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    const split = (t: string, perm: number[]): string =>
      op('Transpose', [op('Reshape', [t, toHeads])], [intsAttr('perm', perm)]);
    const q = split(linear(h, `${p}.attention.self.query`, hidden, hidden), [0, 2, 1, 3]);
    const kT = split(linear(h, `${p}.attention.self.key`, hidden, hidden), [0, 2, 3, 1]);
    const v = split(linear(h, `${p}.attention.self.value`, hidden, hidden), [0, 2, 1, 3]);
    const scores = op('Add', [
      op('Div', [op('MatMul', [q, kT]), scalar(`${p}.scale`, Math.sqrt(hidden / heads))]),
      keyMask,
    ]);
    const probs = op('Softmax', [scores], [intAttr('axis', -1)], `/${p}/attention/self/Softmax`);
    const context = op('Reshape', [
      op('Transpose', [op('MatMul', [probs, v])], [intsAttr('perm', [0, 2, 1, 3])]),
      toHidden,
    ]);
    h = layerNorm(
      op('Add', [linear(context, `${p}.attention.output.dense`, hidden, hidden), h]),
      `${p}.attention.output.LayerNorm`,
    );
    const up = linear(h, `${p}.intermediate.dense`, hidden, ffn);
    const gelu = op('Mul', [
      op('Mul', [up, scalar(`${p}.half`, 0.5)]),
      op('Add', [op('Erf', [op('Div', [up, scalar(`${p}.sqrt2`, Math.SQRT2)])]), scalar(`${p}.one`, 1)]),
    ]);
    h = layerNorm(op('Add', [linear(gelu, `${p}.output.dense`, ffn, hidden), h]), `${p}.output.LayerNorm`);
  }
  const io = (name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  node.push({ opType: 'Identity', input: [h], output: ['last_hidden_state'], name: 'output' });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'attention-explorer bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'bert-base-random',
      input: [
        io('input_ids', I64, ['batch', 'sequence']),
        io('attention_mask', I64, ['batch', 'sequence']),
        io('token_type_ids', I64, ['batch', 'sequence']),
      ],
      output: [io('last_hidden_state', F, ['batch', 'sequence', hidden])],
      initializer,
      node,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
