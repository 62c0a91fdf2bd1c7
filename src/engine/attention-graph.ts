import { onnx } from 'onnx-proto';

/**
 * Attention discovery ("surgery"): find each attention block's probabilities inside an ONNX
 * graph and make them graph outputs before a session is created. Published exports never output
 * attention; the probabilities are the Softmax whose result multiplies V. Discovery is by
 * operator pattern only, never by node names or by model.
 */

export interface ModelInput {
  name: string;
  /** ONNX TensorProto.DataType (7 = int64, 6 = int32, 1 = float). */
  elemType: number;
}

export interface AttentionOutput {
  /** The tensor made a graph output. */
  output: string;
  /** A readable name for the layer: the Softmax node's name, or its output's. */
  layerName: string;
}

export interface PreparedGraph {
  /** The serialized graph with the attention tensors added as outputs. */
  bytes: Uint8Array;
  attention: AttentionOutput[];
  inputs: ModelInput[];
  /** Files named by initializers stored outside the graph (external data), in order of first use. */
  externalDataFiles: string[];
}

/** Operators that pass probabilities through unchanged in meaning on their way to P·V. */
const PASS_THROUGH = new Set(['Cast', 'Identity', 'Dropout', 'Reshape', 'Expand', 'QuantizeLinear', 'DequantizeLinear']);
/** Operators between Q·Kᵀ and the Softmax: scaling, masking, biases. */
const SCORE_PATH = new Set(['Add', 'Sub', 'Mul', 'Div', 'Where', 'Cast', 'Identity', 'Reshape', 'Transpose', 'Max', 'Min', 'Clip', 'Tanh']);
const FUSED_ATTENTION = ['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention', 'PackedMultiHeadAttention', 'DecoderMaskedMultiHeadAttention', 'SparseAttention'];

export class AttentionNotFoundError extends Error {}
export class ModelFormatError extends Error {}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  if (bytes.length < 16) throw new ModelFormatError(`the model file is too small to be ONNX (${bytes.length} bytes)`);
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`the model file is not a valid ONNX model (it may be truncated or another format): ${(e as Error).message}`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new ModelFormatError('the model file holds no ONNX graph (it may be truncated or another format)');
  }
  return model;
}

function isMatMul(op: string): boolean {
  return op === 'MatMul' || op === 'MatMulInteger' || op === 'Einsum';
}

/** Finds the Softmax nodes whose output reaches a MatMul as its left operand (P in P·V). */
function findAttentionSoftmaxes(graph: onnx.IGraphProto): onnx.INodeProto[] {
  const nodes = graph.node ?? [];
  const consumers = new Map<string, onnx.INodeProto[]>();
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) {
    for (const i of n.input ?? []) {
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
    for (const o of n.output ?? []) producer.set(o, n);
  }

  const feedsPV = (tensor: string, depth: number): boolean => {
    if (depth > 4) return false;
    for (const c of consumers.get(tensor) ?? []) {
      const op = c.opType ?? '';
      if (isMatMul(op) && (c.input?.[0] === tensor || op === 'Einsum')) return true;
      if (PASS_THROUGH.has(op) && c.input?.[0] === tensor) {
        if (c.output?.some((o) => feedsPV(o, depth + 1))) return true;
      }
    }
    return false;
  };
  const comesFromQK = (tensor: string, depth: number): boolean => {
    const p = producer.get(tensor);
    if (!p || depth > 6) return false;
    const op = p.opType ?? '';
    if (isMatMul(op) || op === 'Gemm') return true;
    if (SCORE_PATH.has(op) || op === 'DequantizeLinear') return (p.input ?? []).some((i) => comesFromQK(i, depth + 1));
    return false;
  };

  return nodes.filter((n) => n.opType === 'Softmax' && n.output?.[0] && n.input?.[0] && feedsPV(n.output[0], 0) && comesFromQK(n.input[0], 0));
}

function externalFiles(graph: onnx.IGraphProto): string[] {
  const files: string[] = [];
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const loc = t.externalData?.find((e) => e.key === 'location')?.value;
    if (loc && !files.includes(loc)) files.push(loc);
  }
  return files;
}

/** Decodes the model, finds its attention, and re-serializes it with attention outputs added. */
export function exposeAttention(modelBytes: Uint8Array): PreparedGraph {
  const model = decodeModel(modelBytes);
  const graph = model.graph as onnx.GraphProto;
  const softmaxes = findAttentionSoftmaxes(graph);
  if (softmaxes.length === 0) {
    const fused = graph.node.filter((n) => FUSED_ATTENTION.includes(n.opType ?? ''));
    const hint = fused.length
      ? ` The graph computes attention inside fused ${[...new Set(fused.map((n) => `${n.domain || 'ai.onnx'}.${n.opType}`))].join(', ')} operators, which hide the probabilities; use an unfused export (for example torch.onnx.export without attention fusion, or Optimum with --no-post-process).`
      : '';
    throw new AttentionNotFoundError(
      `No attention found: searched for a Softmax whose output multiplies the values (Softmax → [Cast/Identity/Dropout] → MatMul) and whose input comes from a query·key MatMul; none of the graph's ${graph.node.length} nodes matched.${hint}`,
    );
  }
  const attention: AttentionOutput[] = softmaxes.map((n) => ({
    output: n.output![0],
    layerName: n.name || n.output![0],
  }));
  // The attention becomes the graph's only outputs: ONNX Runtime then drops what only fed the
  // original outputs (the language-model head, the last MLP), which is most of a run's time.
  graph.output = attention.map((a) => onnx.ValueInfoProto.create({ name: a.output }));
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs: ModelInput[] = graph.input
    .filter((i) => i.name && !initializers.has(i.name))
    .map((i) => ({ name: i.name ?? '', elemType: i.type?.tensorType?.elemType ?? 0 }));
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    attention,
    inputs,
    externalDataFiles: externalFiles(graph),
  };
}
