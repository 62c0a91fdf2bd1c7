import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { FIXTURES } from './paths';

/**
 * fused-mha.onnx with an attention_bias (as relative positions or ALiBi give) on its last layer's
 * MultiHeadAttention: a constant [1, 4, t, t] of fixed pseudo-random values in −1.5..1.5.
 */
export function fusedMhaWithBias(t: number): { bytes: Uint8Array; bias: Float32Array } {
  const model = onnx.ModelProto.decode(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'fused-mha.onnx'))));
  const g = model.graph as onnx.GraphProto;
  let x = 5;
  const bias = Float32Array.from(
    { length: 4 * t * t },
    () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 3,
  );
  g.initializer.push(
    onnx.TensorProto.create({
      name: 'bias_const',
      dims: [1, 4, t, t],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(bias.buffer),
    }),
  );
  const last = g.node.filter((m) => m.opType === 'MultiHeadAttention').pop();
  if (last) last.input = [...(last.input ?? []).slice(0, 3), '', '', 'bias_const'];
  return { bytes: onnx.ModelProto.encode(model).finish(), bias };
}

/**
 * The unfused twin of a graph whose attention is com.microsoft.MultiHeadAttention with separate
 * query, key and value ([B, S, H·d]) and, optionally, an attention_bias: each operator written out
 * in plain ONNX operators with a Softmax (split into heads, Q·Kᵀ/√d + bias, softmax, ·V, joined
 * again). ONNX Runtime runs both; the twin's Softmax is the engine's reference for what an
 * intervention on the fused operator must give.
 */
export function unfusedMultiHeadAttention(bytes: Uint8Array, headDim: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnx.GraphProto;
  const ints = (name: string, values: number[]): string => {
    graph.initializer.push(
      onnx.TensorProto.create({
        name,
        dataType: onnx.TensorProto.DataType.INT64,
        dims: [values.length],
        int64Data: values,
      }),
    );
    return name;
  };
  const scale = `twin/scale`;
  graph.initializer.push(
    onnx.TensorProto.create({
      name: scale,
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims: [],
      floatData: [1 / Math.sqrt(headDim)],
    }),
  );
  const join = ints('twin/join', [0, 0, -1]);
  const nodes: onnx.INodeProto[] = [];
  graph.node.forEach((n, index) => {
    if (n.opType !== 'MultiHeadAttention') {
      nodes.push(n);
      return;
    }
    const heads = Number((n.attribute ?? []).find((a) => a.name === 'num_heads')?.i ?? 0);
    const [q, k, v, , , bias] = n.input ?? [];
    const p = (s: string): string => `twin/${index}/${s}`;
    const split = ints(p('split'), [0, 0, heads, headDim]);
    const node = (opType: string, input: string[], output: string, perm?: number[]) =>
      nodes.push(
        onnx.NodeProto.create({
          opType,
          input,
          output: [output],
          attribute: perm
            ? [onnx.AttributeProto.create({ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: perm })]
            : opType === 'Softmax'
              ? [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 })]
              : [],
        }),
      );
    node('Reshape', [q, split], p('q4'));
    node('Transpose', [p('q4')], p('qh'), [0, 2, 1, 3]);
    node('Reshape', [k, split], p('k4'));
    node('Transpose', [p('k4')], p('kt'), [0, 2, 3, 1]);
    node('Reshape', [v, split], p('v4'));
    node('Transpose', [p('v4')], p('vh'), [0, 2, 1, 3]);
    node('MatMul', [p('qh'), p('kt')], p('qk'));
    node('Mul', [p('qk'), scale], p('scaled'));
    if (bias) node('Add', [p('scaled'), bias], p('scores'));
    node('Softmax', [bias ? p('scores') : p('scaled')], p('probs'));
    node('MatMul', [p('probs'), p('vh')], p('context'));
    node('Transpose', [p('context')], p('context_bs'), [0, 2, 1, 3]);
    node('Reshape', [p('context_bs'), join], n.output?.[0] ?? '');
  });
  graph.node = nodes;
  return onnx.ModelProto.encode(model).finish();
}
