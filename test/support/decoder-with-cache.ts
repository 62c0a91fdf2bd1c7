import { onnx } from 'onnx-proto';

/**
 * A one-layer, two-head attention block shaped like a Hub decoder export with a key/value cache:
 * inputs input_ids, attention_mask and past_key_values.0.key/value ([batch, 2, past, 4]), outputs
 * the block's result and present.0.key/value. Weights come from a fixed pseudo-random sequence,
 * returned so that a test can compute the attention independently.
 */
export function decoderWithCache(): { bytes: Uint8Array; emb: Float32Array; wq: Float32Array; wk: Float32Array } {
  let x = 12345;
  const rand = (n: number): Float32Array =>
    Float32Array.from({ length: n }, () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648 - 0.5;
    });
  const emb = rand(10 * 8);
  const wq = rand(64);
  const wk = rand(64);
  const wv = rand(64);
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const floatInit = (name: string, dims: number[], data: Float32Array) => ({
    name,
    dims,
    dataType: F,
    floatData: Array.from(data),
  });
  const valueInfo = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) => ({
    opType,
    input,
    output,
    name: output[0],
    attribute,
  });
  const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
  const heads = (w: string, out: string) => [
    node('MatMul', ['x', w], [`${out}_flat`]),
    node('Reshape', [`${out}_flat`, 'split_heads'], [`${out}_4d`]),
    node('Transpose', [`${out}_4d`], [out], [ints('perm', [0, 2, 1, 3])]),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'decoder-with-cache',
      input: [
        valueInfo('input_ids', I64, ['batch', 'sequence']),
        valueInfo('attention_mask', I64, ['batch', 'total_sequence']),
        valueInfo('past_key_values.0.key', F, ['batch', 2, 'past_sequence', 4]),
        valueInfo('past_key_values.0.value', F, ['batch', 2, 'past_sequence', 4]),
      ],
      output: [
        valueInfo('out', F, ['batch', 2, 'sequence', 4]),
        valueInfo('present.0.key', F, ['batch', 2, 'total_sequence', 4]),
        valueInfo('present.0.value', F, ['batch', 2, 'total_sequence', 4]),
      ],
      initializer: [
        floatInit('emb', [10, 8], emb),
        floatInit('wq', [8, 8], wq),
        floatInit('wk', [8, 8], wk),
        floatInit('wv', [8, 8], wv),
        { name: 'split_heads', dims: [4], dataType: I64, int64Data: [0, 0, 2, 4] },
        { name: 'scale', dims: [], dataType: F, floatData: [0.5] },
      ],
      node: [
        node('Gather', ['emb', 'input_ids'], ['x']),
        ...heads('wq', 'q'),
        ...heads('wk', 'k_new'),
        ...heads('wv', 'v_new'),
        node('Concat', ['past_key_values.0.key', 'k_new'], ['present.0.key'], [int('axis', 2)]),
        node('Concat', ['past_key_values.0.value', 'v_new'], ['present.0.value'], [int('axis', 2)]),
        node('Transpose', ['present.0.key'], ['k_t'], [ints('perm', [0, 1, 3, 2])]),
        node('MatMul', ['q', 'k_t'], ['scores_raw']),
        node('Mul', ['scores_raw', 'scale'], ['scores']),
        node('Softmax', ['scores'], ['probs'], [int('axis', -1)]),
        node('MatMul', ['probs', 'present.0.value'], ['out']),
      ],
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), emb, wq, wk };
}
