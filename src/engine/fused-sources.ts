import { onnx } from 'onnx-proto';
import type { AttentionSource } from './attention-graph';
import type { Rotary } from './fused-attention';
import { halfBitsToFloat32 } from './half';
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

/** A float32 or float16 initializer's values (raw or typed), or undefined. */
function initializerFloats(graph: onnx.IGraphProto, name: string): Float32Array | undefined {
  const t = graph.initializer?.find((x) => x.name === name);
  if (!t) return undefined;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataType === onnx.TensorProto.DataType.FLOAT) {
    if (t.floatData && t.floatData.length) return Float32Array.from(t.floatData);
    if (raw) return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  if (t.dataType === onnx.TensorProto.DataType.FLOAT16) {
    // float16 values arrive as raw bytes, or one per int32 in int32Data.
    if (raw)
      return halfBitsToFloat32(new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    if (t.int32Data && t.int32Data.length) return halfBitsToFloat32(Uint16Array.from(t.int32Data));
  }
  return undefined;
}

/**
 * GroupQueryAttention with do_rotary=1 rotates the query and key inside, after the inputs that can
 * be exposed: its cos and sin caches ([positions, rotaryDim / 2], initializers in exports made by
 * ONNX Runtime's model builder) are read so that the engine rotates them the same way.
 */
function rotaryOf(graph: onnx.IGraphProto, n: onnx.INodeProto): Rotary {
  const inputs = n.input ?? [];
  const [cosName, sinName] = [inputs[7], inputs[8]];
  const cos = cosName ? initializerFloats(graph, cosName) : undefined;
  const sin = sinName ? initializerFloats(graph, sinName) : undefined;
  const dims = graph.initializer?.find((t) => t.name === cosName)?.dims?.map(Number);
  if (!cos || !sin || !dims || dims.length !== 2 || cos.length !== sin.length)
    throw unsupported(
      n,
      'it applies rotary positions inside from cos/sin caches that are not float initializers of shape [positions, rotary_dim / 2]',
    );
  return { cos, sin, half: dims[1], interleaved: attr(n, 'rotary_interleaved') === 1 };
}

const unsupported = (n: onnx.INodeProto, why: string): AttentionNotFoundError =>
  new AttentionNotFoundError(
    `The graph computes attention inside ${n.domain || 'ai.onnx'}.${n.opType} operators (node "${n.name ?? ''}"), which hide the probabilities, and ${why}. Use an unfused export (torch.onnx.export without attention fusion, or Optimum's export without ONNX Runtime's transformer optimisations).`,
  );

/**
 * A tensor the engine fetches must be a node's output: an initializer (a constant attention bias)
 * is passed through an Identity node added for it.
 */
function fetchable(graph: onnx.IGraphProto, name: string | undefined, add: Additions): string | undefined {
  if (!name || !graph.initializer?.some((t) => t.name === name)) return name || undefined;
  const out = `${name}/attention_explorer_fetch`;
  if (!add.nodes.some((x) => x.output?.[0] === out))
    add.nodes.push({ opType: 'Identity', name: out, input: [name], output: [out] });
  return out;
}

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
    if (!inputs[1]) throw unsupported(n, 'it has no weight input');
    const heads = attr(n, 'num_heads') ?? 0;
    const { query, key } = packedQueryKey(graph, n, add);
    return {
      kind: 'fused',
      op: name,
      output: n.output?.[0] ?? '',
      query,
      key,
      // attention_bias ([1|B, 1|H, S, L], relative positions, ALiBi): added to the scores, as a mask is.
      mask: fetchable(graph, inputs[5], add),
      spec: { qHeads: heads, kvHeads: heads, scale: attr(n, 'scale') ?? 0, causal: attr(n, 'unidirectional') === 1 },
    };
  }
  if (domain === MS && op === 'MultiHeadAttention') {
    if (!inputs[1]) throw unsupported(n, 'its query, key and value arrive packed in one tensor');
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
      output: n.output?.[0] ?? '',
      query: inputs[0],
      key: inputs[1],
      queryBias,
      keyBias,
      // attention_bias: added to the scores ([1|B, 1|H, S, L]).
      mask: fetchable(graph, inputs[5], add),
      spec: { qHeads: heads, kvHeads: heads, scale: attr(n, 'scale') ?? 0, causal: attr(n, 'unidirectional') === 1 },
    };
  }
  if (domain === MS && op === 'GroupQueryAttention') {
    // Inputs after the rotary caches (position_ids, attention_bias, head_sink) change the scores in ways not recovered.
    if (inputs[10]) throw unsupported(n, 'it adds an attention bias that is not recovered yet');
    if (inputs[11]) throw unsupported(n, 'it has attention sinks (head_sink), which are not recovered yet');
    if (attr(n, 'smooth_softmax') === 1) throw unsupported(n, 'it uses a smoothed softmax, which is not recovered yet');
    const qHeads = attr(n, 'num_heads') ?? 0;
    const kvHeads = attr(n, 'kv_num_heads') ?? 0;
    if (!inputs[1] && (!qHeads || !kvHeads))
      throw unsupported(n, 'its query, key and value arrive packed without num_heads and kv_num_heads');
    const window = attr(n, 'local_window_size') ?? -1;
    return {
      kind: 'fused',
      op: name,
      output: n.output?.[0] ?? '',
      query: inputs[0],
      // Packed: the query input holds the key too (split by fused-attention.ts).
      key: inputs[1] || inputs[0],
      spec: {
        qHeads,
        kvHeads,
        scale: attr(n, 'scale') ?? 0,
        causal: true,
        packed: !inputs[1],
        rotary: attr(n, 'do_rotary') === 1 ? rotaryOf(graph, n) : undefined,
        softcap: attr(n, 'softcap') || undefined,
        localWindow: window > 0 ? window : undefined,
      },
    };
  }
  if (domain === '' && op === 'Attention') {
    if (attr(n, 'softcap')) throw unsupported(n, 'it caps the scores (softcap), which is not recovered yet');
    return {
      kind: 'fused',
      op: name,
      output: n.output?.[0] ?? '',
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
