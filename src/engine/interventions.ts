import { onnx } from 'onnx-proto';
import type { AttentionOutput } from './attention-graph';

/**
 * Interventions by graph surgery, for any model whose attention is an unfused Softmax: each
 * layer's scores get a run-time bias before the Softmax (a hidden token's key is −∞ for every
 * other query), and its probabilities a run-time per-head factor after it (0 knocks a head out:
 * what it passes on, P·V, is then zero). Both are inputs of the prepared graph, so one session
 * runs the plain pass (bias 0, factors 1) and any intervention.
 *
 * A fused attention operator hides its probabilities, but takes what it needs from outside: the
 * bias goes into its additive-bias (or mask) input, and the factor multiplies each head's slice of
 * its output — a head's output is P·V, so zeroing it is zeroing P. The engine applies the same to
 * the probabilities it recomputes from the operator's query and key (applyToProbabilities).
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
  const int64s = (name: string, values: number[], dims = [values.length]): void => {
    graph.initializer.push(
      onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims, int64Data: values }),
    );
  };
  const headShape = 'attention_explorer/head_factor_shape';
  int64s(headShape, [-1, 1, 1]);
  int64s(FUSED_BIAS_AXES, [0, 1]);
  int64s(FUSED_HEAD_SHAPE, [-1, 1]);
  int64s(FUSED_SPLIT_PREFIX, [0, 0]);
  int64s(FUSED_SPLIT_SUFFIX, [-1]);
  attention.forEach((a, layer) => {
    const p = (s: string): string => `attention_explorer/${layer}/${s}`;
    int64s(p('layer'), [layer], []);
    if (a.source.kind === 'fused') {
      interveneAroundFused(graph, a.source, p);
      return;
    }
    const probs = a.source.output;
    const at = graph.node.findIndex((n) => n.opType === 'Softmax' && n.output?.[0] === probs);
    const softmax = graph.node[at];
    const softmaxInputs = softmax.input ?? [];
    const scores = softmaxInputs[0];
    const before = [
      node('CastLike', [KEY_BIAS_INPUT, scores], p('key_bias')),
      node('Add', [scores, p('key_bias')], p('scores')),
    ];
    softmax.input = [p('scores'), ...softmaxInputs.slice(1)];
    const after = [
      headFactorRow(p),
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

const FUSED_BIAS_AXES = 'attention_explorer/fused_bias_axes';
const FUSED_HEAD_SHAPE = 'attention_explorer/fused_head_shape';
const FUSED_SPLIT_PREFIX = 'attention_explorer/fused_split_prefix';
const FUSED_SPLIT_SUFFIX = 'attention_explorer/fused_split_suffix';

function node(opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []): onnx.NodeProto {
  return onnx.NodeProto.create({ opType, input, output: [output], name: output, attribute });
}

const AXIS_0 = onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 });

/** The layer's row of the head factors ([heads], or [1] in the plain pass), as `p('head_factor_row')`. */
function headFactorRow(p: (s: string) => string): onnx.NodeProto {
  return node('Gather', [HEAD_MASK_INPUT, p('layer')], p('head_factor_row'), [AXIS_0]);
}

/** Where each fused operator takes an additive bias on its scores ([1|B, 1|H, S, T]). */
const BIAS_INPUT: Record<string, number> = {
  'com.microsoft.Attention': 5,
  'com.microsoft.MultiHeadAttention': 5,
  'com.microsoft.GroupQueryAttention': 10,
  'ai.onnx.Attention': 3,
};

/**
 * The key bias into the operator's bias input (added to one it already has; refused for ONNX's
 * Attention when it has a mask, which may be boolean), and the head factor on its output.
 */
function interveneAroundFused(
  graph: onnx.GraphProto,
  src: Extract<AttentionOutput['source'], { kind: 'fused' }>,
  p: (s: string) => string,
): void {
  const at = graph.node.findIndex((n) => n.output?.[0] === src.output);
  if (at < 0) throw new InterventionError(`the fused ${src.op} operator of this layer was not found again`);
  const op = graph.node[at];
  const biasAt = BIAS_INPUT[src.op];
  if (biasAt === undefined) throw new InterventionError(`a fused ${src.op} operator takes no bias to hide tokens with`);
  const inputs = [...(op.input ?? [])];
  while (inputs.length <= biasAt) inputs.push('');
  const existing = inputs[biasAt];
  // ONNX's Attention takes a boolean mask or an additive one in the same input, and which cannot
  // always be read off the graph.
  if (existing && src.op === 'ai.onnx.Attention')
    throw new InterventionError(
      `hiding tokens in a fused ${src.op} operator that already has a mask input is not supported yet`,
    );
  const before = [
    node('Unsqueeze', [KEY_BIAS_INPUT, FUSED_BIAS_AXES], p('key_bias_4d')),
    node('CastLike', [p('key_bias_4d'), inputs[0]], p('key_bias')),
  ];
  let bias = p('key_bias');
  if (existing) {
    before.push(node('Add', [existing, p('key_bias')], p('biased')));
    bias = p('biased');
  }
  inputs[biasAt] = bias;
  op.input = inputs;
  // The factor on each head's slice of the output [B, S, H·dv]: split into [B, S, H, dv] (H from the
  // factor's row, so the plain pass's single factor broadcasts), multiplied, and joined again.
  const output = op.output?.[0] ?? '';
  const after = [
    headFactorRow(p),
    node('Shape', [p('head_factor_row')], p('head_count')),
    node('Concat', [FUSED_SPLIT_PREFIX, p('head_count'), FUSED_SPLIT_SUFFIX], p('split_shape'), [AXIS_0]),
    node('Reshape', [output, p('split_shape')], p('per_head')),
    node('Reshape', [p('head_factor_row'), FUSED_HEAD_SHAPE], p('head_factor_float')),
    node('CastLike', [p('head_factor_float'), output], p('head_factor')),
    node('Mul', [p('per_head'), p('head_factor')], p('per_head_factored')),
    node('Shape', [output], p('output_shape')),
    node('Reshape', [p('per_head_factored'), p('output_shape')], p('output')),
  ];
  // Everything that read the operator's output reads it after the factor (the nodes above are not
  // in the graph yet, so they still read the operator's own output).
  for (const n of graph.node) n.input = (n.input ?? []).map((i) => (i === output ? p('output') : i));
  for (const o of graph.output) if (o.name === output) o.name = p('output');
  graph.node.splice(at, 1, ...before, op, ...after);
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

/**
 * What an intervention does to the probabilities the engine recomputes outside a fused operator
 * (`probs`: [heads, t, t] of one layer), in place: a hidden key gets 0 from every other row and the
 * row is renormalised (what −∞ added before the softmax gives), a knocked-out head's rows are 0.
 */
export function applyToProbabilities(
  probs: Float32Array,
  heads: number,
  t: number,
  layer: number,
  intervention: Intervention,
): void {
  const hidden = intervention.hiddenTokens;
  for (let h = 0; h < heads; h++) {
    const head = probs.subarray(h * t * t, (h + 1) * t * t);
    if (intervention.heads.some((k) => k.layer === layer && k.head === h)) {
      head.fill(0);
      continue;
    }
    if (hidden.length === 0) continue;
    for (let i = 0; i < t; i++) {
      const row = head.subarray(i * t, (i + 1) * t);
      for (const j of hidden) if (j !== i) row[j] = 0;
      let sum = 0;
      for (let j = 0; j < t; j++) sum += row[j];
      if (sum > 0) for (let j = 0; j < t; j++) row[j] /= sum;
    }
  }
}
