import { onnx } from 'onnx-proto';

/**
 * Rewrites the fused-mha fixture (MatMul Q/K/V projections feeding com.microsoft.MultiHeadAttention)
 * into what ONNX Runtime's transformer optimizer writes for BERT: one com.microsoft.Attention per
 * layer taking the hidden states, a packed [64, 192] weight (Q | K | V columns) and a packed bias.
 * With `bias` the Q, K and V projections get the given biases; the same biases are returned as
 * Add nodes on an MHA graph (`unfusedWithBias`) so that the two can be compared.
 */
export function packedAttention(
  bytes: Uint8Array,
  bias?: (layer: number) => Float32Array,
): { packed: Uint8Array; unfusedWithBias: Uint8Array } {
  const packedModel = onnx.ModelProto.decode(bytes);
  const unfusedModel = onnx.ModelProto.decode(bytes);
  const g = packedModel.graph as onnx.GraphProto;
  const u = unfusedModel.graph as onnx.GraphProto;
  const floats = (name: string): Float32Array => {
    const t = g.initializer.find((x) => x.name === name)!;
    if (t.floatData?.length) return Float32Array.from(t.floatData);
    const raw = t.rawData!;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  };
  const nodes: onnx.INodeProto[] = [];
  let layer = 0;
  for (const n of g.node) {
    if (n.opType === 'MatMul' && /^[qkv]\d$/.test(n.output![0])) continue;
    if (n.opType !== 'MultiHeadAttention') {
      nodes.push(n);
      continue;
    }
    const [q, k, v] = n.input!.map((name) => g.node.find((m) => m.output![0] === name)!);
    const hidden = q.input![0];
    const ws = [q, k, v].map((m) => floats(m.input![1]));
    const rows = 64;
    const packed = new Float32Array(rows * 192);
    for (let r = 0; r < rows; r++) ws.forEach((w, j) => packed.set(w.subarray(r * 64, (r + 1) * 64), r * 192 + j * 64));
    const b = bias ? bias(layer) : new Float32Array(192);
    g.initializer.push(
      onnx.TensorProto.create({
        name: `qkv_weight${layer}`,
        dims: [64, 192],
        dataType: onnx.TensorProto.DataType.FLOAT,
        floatData: Array.from(packed),
      }),
      onnx.TensorProto.create({
        name: `qkv_bias${layer}`,
        dims: [192],
        dataType: onnx.TensorProto.DataType.FLOAT,
        floatData: Array.from(b),
      }),
    );
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Attention',
        domain: 'com.microsoft',
        name: `/layer.${layer}/Attention`,
        input: [hidden, `qkv_weight${layer}`, `qkv_bias${layer}`],
        output: n.output,
        attribute: [{ name: 'num_heads', type: onnx.AttributeProto.AttributeType.INT, i: 4 }],
      }),
    );
    // The unfused twin: the same biases added after each projection.
    const um = u.node.find((m) => m.opType === 'MultiHeadAttention' && m.output![0] === n.output![0])!;
    ['q', 'k', 'v'].forEach((p, j) => {
      const name = `${p}${layer}_bias`;
      u.initializer.push(
        onnx.TensorProto.create({
          name,
          dims: [64],
          dataType: onnx.TensorProto.DataType.FLOAT,
          floatData: Array.from(b.subarray(j * 64, (j + 1) * 64)),
        }),
      );
      u.node.splice(
        u.node.indexOf(um),
        0,
        onnx.NodeProto.create({
          opType: 'Add',
          name: `${p}${layer}_add`,
          input: [um.input![j], name],
          output: [`${p}${layer}_biased`],
        }),
      );
      um.input![j] = `${p}${layer}_biased`;
    });
    layer++;
  }
  g.node = nodes.map((n) => onnx.NodeProto.create(n));
  return {
    packed: onnx.ModelProto.encode(packedModel).finish(),
    unfusedWithBias: onnx.ModelProto.encode(unfusedModel).finish(),
  };
}
