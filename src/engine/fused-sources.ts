import { onnx } from 'onnx-proto';
import type { AttentionSource } from './attention-graph';
import { AttentionNotFoundError } from './graph-errors';

/**
 * Fused attention operators (ONNX Runtime's contrib operators, ONNX's own Attention): which hide
 * the probabilities, and for those whose query and key are (or can be made) graph tensors, the
 * source the engine recomputes the probabilities from (fused-attention.ts).
 */

export const FUSED_ATTENTION = [
  'Attention',
  'MultiHeadAttention',
  'GroupQueryAttention',
  'QAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'DecoderMaskedMultiHeadAttention',
  'SparseAttention',
];
const MS = 'com.microsoft';

function attr(n: onnx.INodeProto, name: string): number | undefined {
  const a = n.attribute?.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.type === onnx.AttributeProto.AttributeType.FLOAT) return a.f ?? 0;
  return Number(a.i ?? 0);
}

function initializerFloats(graph: onnx.IGraphProto, name: string): Float32Array | undefined {
  const t = graph.initializer?.find((x) => x.name === name);
  if (!t || t.dataType !== onnx.TensorProto.DataType.FLOAT) return undefined;
  if (t.floatData && t.floatData.length) return Float32Array.from(t.floatData);
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return undefined;
}

const unsupported = (n: onnx.INodeProto, why: string): AttentionNotFoundError =>
  new AttentionNotFoundError(
    `The graph computes attention inside ${n.domain || 'ai.onnx'}.${n.opType} operators (node "${n.name ?? ''}"), which hide the probabilities, and ${why}. Use an unfused export (torch.onnx.export without attention fusion, or Optimum's export without ONNX Runtime's transformer optimisations).`,
  );

/** Nodes and initializers the surgery adds to the graph. */
export interface Additions {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
}

/**
 * com.microsoft.Attention computes Q, K and V inside from its input and one packed weight matrix
 * ([hidden_in, q + k + v], bias [q + k + v]). The query and key are rebuilt as graph tensors:
 * Slice the weight's (and bias's) Q and K columns and multiply the operator's input by them, nodes
 * that ONNX Runtime runs like the rest of the graph (and folds the constant slices of).
 */
function packedQueryKey(graph: onnx.IGraphProto, n: onnx.INodeProto, add: Additions): { query: string; key: string } {
  const [input, weights, bias] = n.input ?? [];
  const id = `${n.name || n.output?.[0] || 'Attention'}/attention_explorer`;
  const declared = n.attribute?.find((a) => a.name === 'qkv_hidden_sizes')?.ints?.map(Number);
  let sizes = declared && declared.length === 3 ? declared : undefined;
  if (!sizes) {
    const w = graph.initializer?.find((t) => t.name === weights);
    const cols = w?.dims?.length === 2 ? Number(w.dims[1]) : undefined;
    if (!cols || cols % 3 !== 0)
      throw unsupported(
        n,
        'the size of its packed query, key and value weights is unknown (no qkv_hidden_sizes, no initializer shape)',
      );
    sizes = [cols / 3, cols / 3, cols / 3];
  }
  const ints = (name: string, v: number[]): string => {
    if (add.initializers.some((t) => t.name === `${id}/${name}`)) return `${id}/${name}`;
    add.initializers.push({
      name: `${id}/${name}`,
      dims: [v.length],
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: v,
    });
    return `${id}/${name}`;
  };
  const project = (what: 'query' | 'key', start: number, size: number): string => {
    const w = `${id}/${what}_weight`;
    add.nodes.push({
      opType: 'Slice',
      name: w,
      input: [weights, ints(`${what}_start`, [start]), ints(`${what}_end`, [start + size]), ints('columns', [1])],
      output: [w],
    });
    const product = `${id}/${what}_product`;
    add.nodes.push({ opType: 'MatMul', name: product, input: [input, w], output: [product] });
    if (!bias) return product;
    const b = `${id}/${what}_bias`;
    add.nodes.push({
      opType: 'Slice',
      name: b,
      input: [bias, ints(`${what}_start`, [start]), ints(`${what}_end`, [start + size]), ints('elements', [0])],
      output: [b],
    });
    const out = `${id}/${what}`;
    add.nodes.push({ opType: 'Add', name: out, input: [product, b], output: [out] });
    return out;
  };
  return { query: project('query', 0, sizes[0]), key: project('key', sizes[0], sizes[1]) };
}

/**
 * Fused attention operators whose query and key are graph tensors, or can be made so: the
 * probabilities are recomputed from them. Operators that truly hide them are refused with a
 * message naming them.
 */
export function fusedSource(graph: onnx.IGraphProto, n: onnx.INodeProto, add: Additions): AttentionSource | undefined {
  const op = n.opType ?? '';
  const domain = n.domain ?? '';
  const inputs = n.input ?? [];
  const name = `${domain || 'ai.onnx'}.${op}`;
  if (domain === MS && op === 'Attention') {
    if (inputs[5]) throw unsupported(n, 'it adds an attention bias (relative positions) that is not recovered yet');
    if (!inputs[1]) throw unsupported(n, 'it has no weight input');
    const heads = attr(n, 'num_heads') ?? 0;
    const { query, key } = packedQueryKey(graph, n, add);
    return {
      kind: 'fused',
      op: name,
      query,
      key,
      spec: { qHeads: heads, kvHeads: heads, scale: attr(n, 'scale') ?? 0, causal: attr(n, 'unidirectional') === 1 },
    };
  }
  if (domain === MS && op === 'MultiHeadAttention') {
    if (!inputs[1]) throw unsupported(n, 'its query, key and value arrive packed in one tensor');
    if (inputs[5]) throw unsupported(n, 'it adds an attention bias that is not recovered yet');
    let queryBias: Float32Array | undefined;
    let keyBias: Float32Array | undefined;
    const heads = attr(n, 'num_heads') ?? 0;
    if (inputs[3]) {
      const bias = initializerFloats(graph, inputs[3]);
      if (!bias || bias.length % 3 !== 0) throw unsupported(n, 'its bias is not a float initializer');
      const hidden = bias.length / 3;
      queryBias = bias.subarray(0, hidden);
      keyBias = bias.subarray(hidden, 2 * hidden);
    }
    return {
      kind: 'fused',
      op: name,
      query: inputs[0],
      key: inputs[1],
      queryBias,
      keyBias,
      spec: { qHeads: heads, kvHeads: heads, scale: attr(n, 'scale') ?? 0, causal: attr(n, 'unidirectional') === 1 },
    };
  }
  if (domain === MS && op === 'GroupQueryAttention') {
    if (!inputs[1]) throw unsupported(n, 'its query, key and value arrive packed in one tensor');
    if (attr(n, 'do_rotary') === 1)
      throw unsupported(n, 'it applies rotary positions inside, after the query and key that could be exposed');
    return {
      kind: 'fused',
      op: name,
      query: inputs[0],
      key: inputs[1],
      spec: {
        qHeads: attr(n, 'num_heads') ?? 0,
        kvHeads: attr(n, 'kv_num_heads') ?? 0,
        scale: attr(n, 'scale') ?? 0,
        causal: true,
      },
    };
  }
  if (domain === '' && op === 'Attention') {
    if (attr(n, 'softcap')) throw unsupported(n, 'it caps the scores (softcap), which is not recovered yet');
    return {
      kind: 'fused',
      op: name,
      query: inputs[0],
      key: inputs[1],
      mask: inputs[3] || undefined,
      spec: {
        qHeads: attr(n, 'q_num_heads') ?? 0,
        kvHeads: attr(n, 'kv_num_heads') ?? 0,
        scale: attr(n, 'scale') ?? 0,
        causal: attr(n, 'is_causal') === 1,
      },
    };
  }
  if (FUSED_ATTENTION.includes(op))
    throw unsupported(n, 'its query and key are computed inside it from packed weights');
  return undefined;
}
