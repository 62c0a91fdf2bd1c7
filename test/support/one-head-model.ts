import { onnx } from 'onnx-proto';

/**
 * The smallest model with attention: one layer of one head, full (encoder) attention, built node
 * by node — embedding, Q/K/V projections, softmax(Q·Kᵀ/√d) (as [batch, heads=1, T, T], the
 * layout exports use), the weighted values and a projection to logits. For the edges of the
 * views (one picture in the model view, one line of heads in the head finder). Weights are
 * deterministic pseudo-random numbers: the attention is not uniform, so pictures have contrast.
 */
export function oneHeadModel(vocabulary: number): Uint8Array {
  const d = 8;
  let seed = 7;
  const random = (n: number): Float32Array =>
    Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2);
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const floats = (name: string, dims: number[], data: Float32Array): onnx.ITensorProto => ({
    name,
    dims,
    dataType: F,
    rawData: new Uint8Array(data.buffer),
  });
  const ints = (name: string, data: number[]): onnx.ITensorProto => ({
    name,
    dims: [data.length],
    dataType: I64,
    int64Data: data,
  });
  const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) => ({
    opType,
    name: output,
    input,
    output: [output],
    attribute,
  });
  const dims = (...names: (string | number)[]): onnx.ITypeProto => ({
    tensorType: {
      elemType: F,
      shape: { dim: names.map((n) => (typeof n === 'number' ? { dimValue: n } : { dimParam: n })) },
    },
  });
  const graph: onnx.IGraphProto = {
    name: 'one-head',
    input: [
      {
        name: 'input_ids',
        type: { tensorType: { elemType: I64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
      },
    ],
    output: [{ name: 'logits', type: dims('batch', 'sequence', vocabulary) }],
    initializer: [
      floats('embedding', [vocabulary, d], random(vocabulary * d)),
      floats('wq', [d, d], random(d * d)),
      floats('wk', [d, d], random(d * d)),
      floats('wv', [d, d], random(d * d)),
      floats('wout', [d, vocabulary], random(d * vocabulary)),
      floats('scale', [], Float32Array.of(1 / Math.sqrt(d))),
      ints('heads_axis', [1]),
    ],
    node: [
      node('Gather', ['embedding', 'input_ids'], 'x'),
      // Q, K and V as [batch, heads = 1, T, d], the layout multi-head exports have.
      node('MatMul', ['x', 'wq'], 'q3'),
      node('MatMul', ['x', 'wk'], 'k3'),
      node('MatMul', ['x', 'wv'], 'v3'),
      node('Unsqueeze', ['q3', 'heads_axis'], 'q'),
      node('Unsqueeze', ['k3', 'heads_axis'], 'k'),
      node('Unsqueeze', ['v3', 'heads_axis'], 'v'),
      node('Transpose', ['k'], 'kt', [
        { name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1, 3, 2] },
      ]),
      node('MatMul', ['q', 'kt'], 'qk'),
      node('Mul', ['qk', 'scale'], 'scores'),
      node('Softmax', ['scores'], 'probabilities', [
        { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 },
      ]),
      node('MatMul', ['probabilities', 'v'], 'context4'),
      node('Squeeze', ['context4', 'heads_axis'], 'context'),
      node('MatMul', ['context', 'wout'], 'logits'),
    ],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'attention-explorer tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
