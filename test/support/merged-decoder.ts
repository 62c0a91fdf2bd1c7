import { onnx } from 'onnx-proto';

/**
 * Wraps a decoder graph the way Optimum's decoder_model_merged.onnx does: a `use_cache_branch`
 * bool input and one `If` whose branches hold the whole computation (weights stay in the outer
 * graph, shared by both). The else branch (no cache) is the original graph; the then branch is a
 * copy whose Softmaxes are Sigmoids, so a rewrite that inlines the wrong branch finds no attention.
 */
export function mergedDecoder(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph as onnx.GraphProto;
  const outer = new Set([...g.input.map((i) => i.name ?? ''), ...g.initializer.map((t) => t.name ?? '')]);
  const branch = (prefix: string, softmaxAs: string): onnx.IGraphProto => {
    const rename = (v: string): string => (v === '' || outer.has(v) ? v : `${prefix}/${v}`);
    return {
      name: prefix,
      node: g.node.map((n) => ({
        ...n,
        name: `${prefix}/${n.name ?? ''}`,
        opType: n.opType === 'Softmax' ? softmaxAs : n.opType,
        attribute: n.opType === 'Softmax' && softmaxAs !== 'Softmax' ? [] : n.attribute,
        input: (n.input ?? []).map(rename),
        output: (n.output ?? []).map(rename),
      })),
      output: g.output.map((o) => ({ ...o, name: rename(o.name ?? '') })),
    };
  };
  const merged = onnx.ModelProto.create({
    ...model,
    graph: {
      name: `${g.name ?? 'decoder'}-merged`,
      input: [
        ...g.input,
        {
          name: 'use_cache_branch',
          type: { tensorType: { elemType: onnx.TensorProto.DataType.BOOL, shape: { dim: [{ dimValue: 1 }] } } },
        },
      ],
      initializer: g.initializer,
      output: g.output,
      node: [
        {
          opType: 'If',
          name: 'optimum::if',
          input: ['use_cache_branch'],
          output: g.output.map((o) => o.name ?? ''),
          attribute: [
            { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('with_past', 'Sigmoid') },
            { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('no_past', 'Softmax') },
          ],
        },
      ],
    },
  });
  return onnx.ModelProto.encode(merged).finish();
}
