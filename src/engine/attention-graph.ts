import { onnx } from 'onnx-proto';
import type { FusedSpec } from './fused-attention';
import { FUSED_ATTENTION, fusedSource, type Additions } from './fused-sources';
import { AttentionNotFoundError, ModelFormatError } from './graph-errors';
import { inlineKnownIfs, pruneToOutputs, subgraphsHold } from './graph-rewrite';
import { InterventionError, insertInterventions } from './interventions';
import { scoreSources, type ScoreSource } from './score-source';

/**
 * Attention discovery ("surgery"): find each attention block's probabilities inside an ONNX
 * graph and make them graph outputs before a session is created. Published exports never output
 * attention; the probabilities are the Softmax whose result multiplies V. Discovery is by
 * operator pattern only, never by node names or by model.
 */

export interface ModelInput {
  name: string;
  /** ONNX TensorProto.DataType (7 = int64, 6 = int32, 1 = float, 10 = float16, 9 = bool). */
  elemType: number;
  /** Declared shape: a number for a fixed axis, a name for a symbolic one, null when unknown. */
  dims: (number | string | null)[] | null;
}

/** Where a layer's probabilities come from. */
export type AttentionSource =
  /**
   * A Softmax output, fetched as it is. `scores` names the query and key of its Q·Kᵀ product (graph
   * outputs, fetched only for the query·key view), or says why they cannot be shown.
   */
  | { kind: 'softmax'; output: string; scores: ScoreSource | string }
  /** A fused operator: its query and key inputs are fetched and the engine computes the softmax. */
  | {
      kind: 'fused';
      op: string;
      /** The operator's first output (its attention result), where interventions act on each head. */
      output: string;
      query: string;
      key: string;
      mask?: string;
      queryBias?: Float32Array;
      keyBias?: Float32Array;
      spec: FusedSpec;
    };

export interface AttentionOutput {
  source: AttentionSource;
  /** A readable name for the layer: the node's name, or its output's. */
  layerName: string;
}

export interface PreparedGraph {
  /** The serialized graph with the attention tensors added as outputs. */
  bytes: Uint8Array;
  attention: AttentionOutput[];
  /** Every tensor a run fetches (the graph's outputs after surgery). */
  fetches: string[];
  inputs: ModelInput[];
  /** Files named by initializers stored outside the graph (external data), in order of first use. */
  externalDataFiles: string[];
  /** 'int8' when integer-quantized operators compute it, 'fp16' when its weights are float16. */
  precision: 'fp32' | 'fp16' | 'int8';
  /** What the surgery changed besides outputs: If nodes inlined, nodes and initializers removed. */
  rewrites: { inlinedIfs: number; prunedNodes: number; prunedInitializers: number };
  /** Rows of the token embedding that input_ids index (null when it cannot be read off the graph). */
  vocabulary: number | null;
  /** The largest weight's bytes (inline or external): a GPU must hold it in one buffer. */
  largestWeightBytes: number;
  /** The logits output kept for predictions (SurgeryOptions.logits), or null. */
  logits: string | null;
  /** The graph's outputs before the surgery, to say which there were when logits are missing. */
  originalOutputs: string[];
  /** Whether the graph takes the interventions' inputs (SurgeryOptions.interventions). */
  interventions: boolean;
  /** Why interventions asked for 'if-possible' were left out, else null. */
  interventionsRefused: string | null;
}

/** The input that takes the token ids, under the names exports give it. */
export const IDS_INPUT = /input_ids$|^ids$|^tokens$/;

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 16: 2 };

function largestWeight(graph: onnx.IGraphProto): number {
  let largest = 0;
  for (const t of graph.initializer ?? []) {
    const count = (t.dims ?? []).reduce<number>((n, d) => n * Number(d), 1);
    largest = Math.max(largest, count * (ELEMENT_BYTES[t.dataType ?? 1] ?? 4));
  }
  return largest;
}

/**
 * The output holding the logits: named so (Hugging Face's exports), or else the one output shaped
 * [batch, sequence, V] whose V is the embedding's vocabulary (exports that name it `out`).
 */
function logitsOutput(graph: onnx.IGraphProto, vocabulary: number | null): string | null {
  const outputs = graph.output ?? [];
  const named = outputs.find((o) => /(^|\W)logits$/.test(o.name ?? ''));
  if (named?.name) return named.name;
  const shaped = outputs.filter((o) => {
    const dims = o.type?.tensorType?.shape?.dim ?? [];
    return dims.length === 3 && vocabulary !== null && Number(dims[2].dimValue) === vocabulary;
  });
  return shaped.length === 1 ? (shaped[0].name ?? null) : null;
}

/**
 * The rows of the table input_ids are gathered from (Gather, or GatherBlockQuantized of 4-bit
 * rows): a token id at or past it is a tokenizer that does not belong to the model.
 */
function vocabularyOf(graph: onnx.IGraphProto): number | null {
  const ids = graph.input?.find((i) => IDS_INPUT.test(i.name ?? ''))?.name;
  if (!ids) return null;
  // The ids may be reshaped or cast on their way (GPT-2's export flattens them first).
  const names = new Set([ids]);
  for (const n of graph.node ?? [])
    if (
      ['Reshape', 'Cast', 'Unsqueeze', 'Flatten', 'Identity'].includes(n.opType ?? '') &&
      names.has(n.input?.[0] ?? '')
    )
      for (const o of n.output ?? []) names.add(o);
  for (const n of graph.node ?? []) {
    if ((n.opType !== 'Gather' && n.opType !== 'GatherBlockQuantized') || !names.has(n.input?.[1] ?? '')) continue;
    const table = graph.initializer?.find((t) => t.name === n.input?.[0]);
    const rows = table?.dims?.length ? Number(table.dims[0]) : NaN;
    if (Number.isInteger(rows) && rows > 0) return rows;
  }
  return null;
}

const QUANTIZED_OPS = new Set([
  'MatMulInteger',
  'DynamicQuantizeLinear',
  'DynamicQuantizeMatMul',
  'QLinearMatMul',
  'MatMulIntegerToFloat',
  'QAttention',
  'ConvInteger',
  'QLinearConv',
]);

function precisionOf(graph: onnx.IGraphProto): PreparedGraph['precision'] {
  if ((graph.node ?? []).some((n) => QUANTIZED_OPS.has(n.opType ?? ''))) return 'int8';
  if ((graph.initializer ?? []).some((t) => t.dataType === onnx.TensorProto.DataType.FLOAT16)) return 'fp16';
  return 'fp32';
}

/** Operators that pass probabilities through unchanged in meaning on their way to P·V. */
const PASS_THROUGH = new Set([
  'Cast',
  'Identity',
  'Dropout',
  'Reshape',
  'Expand',
  'QuantizeLinear',
  'DequantizeLinear',
]);
/** Operators between Q·Kᵀ and the Softmax: scaling, masking, biases. */
const SCORE_PATH = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Where',
  'Cast',
  'Identity',
  'Reshape',
  'Transpose',
  'Max',
  'Min',
  'Clip',
  'Tanh',
]);
function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  if (bytes.length < 16) throw new ModelFormatError(`the model file is too small to be ONNX (${bytes.length} bytes)`);
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(
      `the model file is not a valid ONNX model (it may be truncated or another format): ${(e as Error).message}`,
    );
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new ModelFormatError('the model file holds no ONNX graph (it may be truncated or another format)');
  }
  return model;
}

/**
 * Matrix products, plain and as ONNX Runtime's optimizer and quantizers write them (FusedMatMul
 * carries the 1/√d scale; the quantized forms multiply int8 data).
 */
const MATMULS = new Set([
  'MatMul',
  'MatMulInteger',
  'Einsum',
  'FusedMatMul',
  'QLinearMatMul',
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
]);

function isMatMul(op: string): boolean {
  return MATMULS.has(op);
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

  return nodes.filter(
    (n) =>
      n.opType === 'Softmax' && n.output?.[0] && n.input?.[0] && feedsPV(n.output[0], 0) && comesFromQK(n.input[0], 0),
  );
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
export interface SurgeryOptions {
  /** Keep the language-model head and its logits as an output (the next-token predictions). */
  logits?: boolean;
  /**
   * Add the inputs that knock out heads and hide tokens (interventions.ts); 'if-possible': a graph
   * that cannot take them (fused attention, an old opset) is prepared without, and says why.
   */
  interventions?: boolean | 'if-possible';
}

export function exposeAttention(modelBytes: Uint8Array, options: SurgeryOptions = {}): PreparedGraph {
  const model = decodeModel(modelBytes);
  const graph = model.graph as onnx.GraphProto;
  const originalOutputs = graph.output.map((o) => o.name ?? '');
  // A merged decoder (Optimum's decoder_model_merged.onnx) computes everything inside an If on
  // use_cache_branch, which the engine always feeds false: its no-cache branch becomes the graph.
  const inlined = inlineKnownIfs(graph, new Map([['use_cache_branch', false]]));
  // Read once the branch is inlined (a merged decoder's embedding lies inside it); the pruning
  // below keeps the embedding, which every attention layer reads.
  const vocabulary = vocabularyOf(graph);
  const logits = options.logits ? logitsOutput(graph, vocabulary) : null;
  const softmaxes = new Set(findAttentionSoftmaxes(graph));
  const scoresOf = scoreSources(graph);
  const attention: AttentionOutput[] = [];
  const additions: Additions = { nodes: [], initializers: [] };
  // In graph order: unfused Softmaxes and fused operators alike.
  for (const n of graph.node) {
    const out0 = n.output?.[0] ?? '';
    if (softmaxes.has(n)) {
      attention.push({ source: { kind: 'softmax', output: out0, scores: scoresOf(n) }, layerName: n.name || out0 });
      continue;
    }
    const fused = fusedSource(graph, n, additions);
    if (fused) attention.push({ source: fused, layerName: n.name || out0 });
  }
  // Appended after everything: they read only what the graph already computes.
  graph.node.push(...additions.nodes.map((x) => onnx.NodeProto.create(x)));
  graph.initializer.push(...additions.initializers.map((x) => onnx.TensorProto.create(x)));
  if (attention.length === 0) {
    const hidden = subgraphsHold(graph, 'Softmax');
    throw new AttentionNotFoundError(
      `No attention found: searched for a Softmax whose output multiplies the values (Softmax → [Cast/Identity/Dropout/QuantizeLinear] → MatMul) and whose input comes from a query·key product (${[...MATMULS].join(', ')}), and for fused attention operators (${FUSED_ATTENTION.join(', ')}); none of the graph's ${graph.node.length} nodes matched.` +
        (hidden
          ? ` ${hidden} Softmax nodes sit inside If/Loop/Scan subgraphs whose condition is computed at run time; export the model without control flow.`
          : ''),
    );
  }
  let interventionsRefused: string | null = null;
  try {
    if (options.interventions) insertInterventions(graph, attention, defaultOpset(model));
  } catch (e) {
    if (options.interventions !== 'if-possible' || !(e instanceof InterventionError)) throw e;
    interventionsRefused = e.message;
  }
  const fetches: string[] = [];
  for (const a of attention) {
    const names =
      a.source.kind === 'softmax'
        ? [a.source.output]
        : [a.source.query, a.source.key, ...(a.source.mask ? [a.source.mask] : [])];
    for (const name of names) if (!fetches.includes(name)) fetches.push(name);
  }
  // The attention becomes the graph's only outputs (with the query and key of each score product,
  // which runs fetch only for the query·key view), and what only fed the original outputs (the
  // language-model head, the last MLP) is removed.
  const outputs = [...fetches];
  for (const a of attention) {
    const scores = a.source.kind === 'softmax' ? a.source.scores : undefined;
    if (typeof scores === 'object')
      for (const name of [scores.query, scores.key]) if (!outputs.includes(name)) outputs.push(name);
  }
  // Kept only when asked for: the head costs a [T, vocabulary] product on every run.
  if (logits && !outputs.includes(logits)) outputs.push(logits);
  graph.output = outputs.map((name) => onnx.ValueInfoProto.create({ name }));
  const pruned = pruneToOutputs(graph);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs: ModelInput[] = graph.input
    .filter((i) => i.name && !initializers.has(i.name))
    .map((i) => {
      const shape = i.type?.tensorType?.shape;
      const dims = shape
        ? (shape.dim ?? []).map((d) =>
            d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || null,
          )
        : null;
      return { name: i.name ?? '', elemType: i.type?.tensorType?.elemType ?? 0, dims };
    });
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    attention,
    fetches,
    inputs,
    externalDataFiles: externalFiles(graph),
    precision: precisionOf(graph),
    rewrites: { inlinedIfs: inlined, prunedNodes: pruned.nodes, prunedInitializers: pruned.initializers },
    vocabulary,
    largestWeightBytes: largestWeight(graph),
    logits,
    originalOutputs,
    interventions: !!options.interventions && interventionsRefused === null,
    interventionsRefused,
  };
}

function defaultOpset(model: onnx.ModelProto): number {
  const own = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return Number(own?.version ?? 0);
}
