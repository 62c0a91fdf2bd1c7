import { onnx } from 'onnx-proto';
import type { AttentionOutput } from './attention-graph';

/**
 * Interventions by graph surgery, for any model whose attention is an unfused Softmax: each
 * layer's scores get a run-time bias before the Softmax (a hidden token's key is −∞ for every
 * other query), and its probabilities a run-time per-head factor after it (0 knocks a head out:
 * what it passes on, P·V, is then zero). Both are inputs of the prepared graph, so one session
 * runs the plain pass (bias 0, factors 1) and any intervention.
 */

/** [layers, heads] float: each head's factor on its probabilities (1 = as is, 0 = knocked out). */
export const HEAD_MASK_INPUT = 'attention_explorer_head_mask';
/** [T, T] float: added to every head's scores before the Softmax (−∞ hides a key from a query). */
export const KEY_BIAS_INPUT = 'attention_explorer_key_bias';

/** What to change in a run: heads to knock out, tokens (indices in the run's ids) to hide from attention. */
export interface Intervention {
  heads: { layer: number; head: number }[];
  hiddenTokens: number[];
}

export class InterventionError extends Error {}

/**
 * Adds the two inputs and, around each attention Softmax, the nodes that apply them; the layer's
 * attention output becomes the probabilities after the factor (what the values are multiplied by).
 */
export function insertInterventions(graph: onnx.GraphProto, attention: AttentionOutput[], opset: number): void {
  const fused = attention.find((a) => a.source.kind === 'fused');
  if (fused && fused.source.kind === 'fused')
    throw new InterventionError(
      `interventions need the attention probabilities inside the graph, and this model computes them inside a fused ${fused.source.op} operator (layer ${fused.layerName}); use an export without fused attention`,
    );
  // CastLike (opset 15) brings the float inputs to the scores' type, float16 included.
  if (opset < 15)
    throw new InterventionError(
      `interventions need ONNX opset 15 or later (CastLike), and this model is exported with opset ${opset}`,
    );
  const floatInput = (name: string, dims: string[]): onnx.ValueInfoProto =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: dims.map((d) => ({ dimParam: d })) },
        },
      },
    });
  graph.input.push(
    floatInput(HEAD_MASK_INPUT, ['attention_explorer_layers', 'attention_explorer_heads']),
    floatInput(KEY_BIAS_INPUT, ['attention_explorer_t', 'attention_explorer_t']),
  );
  const headShape = 'attention_explorer/head_factor_shape';
  graph.initializer.push(
    onnx.TensorProto.create({
      name: headShape,
      dataType: onnx.TensorProto.DataType.INT64,
      dims: [3],
      int64Data: [-1, 1, 1],
    }),
  );
  attention.forEach((a, layer) => {
    if (a.source.kind !== 'softmax') return;
    const probs = a.source.output;
    const at = graph.node.findIndex((n) => n.opType === 'Softmax' && n.output?.[0] === probs);
    const softmax = graph.node[at];
    const softmaxInputs = softmax.input ?? [];
    const scores = softmaxInputs[0];
    const p = (s: string): string => `attention_explorer/${layer}/${s}`;
    const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) =>
      onnx.NodeProto.create({ opType, input, output: [output], name: output, attribute });
    graph.initializer.push(
      onnx.TensorProto.create({
        name: p('layer'),
        dataType: onnx.TensorProto.DataType.INT64,
        dims: [],
        int64Data: [layer],
      }),
    );
    const before = [
      node('CastLike', [KEY_BIAS_INPUT, scores], p('key_bias')),
      node('Add', [scores, p('key_bias')], p('scores')),
    ];
    softmax.input = [p('scores'), ...softmaxInputs.slice(1)];
    const after = [
      node('Gather', [HEAD_MASK_INPUT, p('layer')], p('head_factor_row'), [
        onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }),
      ]),
      node('Reshape', [p('head_factor_row'), headShape], p('head_factor_float')),
      node('CastLike', [p('head_factor_float'), probs], p('head_factor')),
      node('Mul', [probs, p('head_factor')], p('probs')),
    ];
    // Everything that read the probabilities reads them after the factor.
    for (const n of graph.node) n.input = (n.input ?? []).map((i) => (i === probs ? p('probs') : i));
    graph.node.splice(at, 1, ...before, softmax, ...after);
    a.source.output = p('probs');
  });
}

/** The interventions' inputs for one run of `t` tokens: the plain pass when `intervention` is absent. */
export function interventionFeeds(
  layers: number,
  heads: number,
  t: number,
  intervention?: Intervention,
): { headMask: Float32Array; headDims: [number, number]; keyBias: Float32Array; biasDims: [number, number] } {
  const headMask = new Float32Array(layers * heads).fill(1);
  const keyBias = new Float32Array(t * t);
  for (const { layer, head } of intervention?.heads ?? []) {
    if (layer < 0 || layer >= layers || head < 0 || head >= heads)
      throw new InterventionError(
        `there is no head ${layer}:${head} (the model has ${layers} layers × ${heads} heads)`,
      );
    headMask[layer * heads + head] = 0;
  }
  const hidden = new Set(intervention?.hiddenTokens ?? []);
  for (const j of hidden) {
    if (j < 0 || j >= t) throw new InterventionError(`there is no token ${j} to hide (the run has ${t} tokens)`);
    // Hidden from every other query; its own row still sees it, so that no row is left with nothing.
    for (let i = 0; i < t; i++) if (i !== j) keyBias[i * t + j] = -Infinity;
  }
  if (t > 1 && hidden.size === t)
    throw new InterventionError(
      `hiding every token leaves each token nothing to attend to but itself; hide fewer than all ${t}`,
    );
  if (
    intervention &&
    intervention.heads.length > 0 &&
    new Set(intervention.heads.map((h) => `${h.layer}:${h.head}`)).size === layers * heads
  )
    throw new InterventionError(
      `knocking out all ${layers * heads} heads leaves the model no attention at all; keep at least one`,
    );
  return { headMask, headDims: [layers, heads], keyBias, biasDims: [t, t] };
}
