import { onnx } from 'onnx-proto';

/**
 * A one-layer decoder whose attention is ONNX Runtime's com.microsoft.GroupQueryAttention with the
 * rotary embedding inside (do_rotary = 1, cos/sin caches as initializers), as the model builder
 * exports Llama, Qwen, Phi-3 and Gemma — and its unfused twin with the same weights: the rotary,
 * the grouped keys, the scale, the cap and the causal (sliding) mask written out in plain ONNX
 * operators, with a Softmax. ONNX Runtime runs both; their logits agree when the twin computes what
 * the operator computes, so the twin's Softmax is an independent reference for the attention the
 * engine recovers from the fused graph.
 */
export interface GqaOptions {
  /** Query, key and value packed into the operator's first input. */
  packed?: boolean;
  interleaved?: boolean;
  /**
   * Rotary dimension / 2 (the caches' width). The head size is 32 (ONNX Runtime wants a multiple of
   * 16, and a cache width that is a multiple of 8), so 16 rotates all of it.
   */
  rotaryHalf?: number;
  softcap?: number;
  localWindow?: number;
}

const VOCAB = 64;
const HIDDEN = 32;
const HEADS = 4;
const KV_HEADS = 2;
const DIM = 32;
const POSITIONS = 64;

export function gqaModels(tokens: number, o: GqaOptions = {}): { fused: Uint8Array; twin: Uint8Array } {
  const half = o.rotaryHalf ?? DIM / 2;
  let seed = 11;
  const random = (n: number, scale = 1): Float32Array =>
    Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2 * scale);
  const weights = {
    embedding: random(VOCAB * HIDDEN),
    wq: random(HIDDEN * HEADS * DIM, 0.6),
    wk: random(HIDDEN * KV_HEADS * DIM, 0.6),
    wv: random(HIDDEN * KV_HEADS * DIM),
    wo: random(HEADS * DIM * VOCAB),
  };
  // The caches as the model builder computes them: θ_i = 10000^(−i/half), angle = position · θ_i.
  const cos = new Float32Array(POSITIONS * half);
  const sin = new Float32Array(POSITIONS * half);
  for (let p = 0; p < POSITIONS; p++)
    for (let i = 0; i < half; i++) {
      const angle = p * 10000 ** (-i / half);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  return { fused: fusedGraph(weights, cos, sin, half, o), twin: twinGraph(weights, cos, sin, half, tokens, o) };
}

type Weights = Record<'embedding' | 'wq' | 'wk' | 'wv' | 'wo', Float32Array>;

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const I32 = onnx.TensorProto.DataType.INT32;
const A = onnx.AttributeProto.AttributeType;

const floats = (name: string, dims: number[], data: Float32Array): onnx.ITensorProto => ({
  name,
  dims,
  dataType: F,
  rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
});
const ints = (name: string, data: number[], dims = [data.length]): onnx.ITensorProto => ({
  name,
  dims,
  dataType: I64,
  int64Data: data,
});
const node = (
  opType: string,
  input: string[],
  output: string | string[],
  attribute: onnx.IAttributeProto[] = [],
  domain?: string,
): onnx.INodeProto => ({
  opType,
  domain,
  name: Array.isArray(output) ? output[0] : output,
  input,
  output: Array.isArray(output) ? output : [output],
  attribute,
});
const intAttr = (name: string, i: number): onnx.IAttributeProto => ({ name, type: A.INT, i });
const floatAttr = (name: string, f: number): onnx.IAttributeProto => ({ name, type: A.FLOAT, f });
const intsAttr = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: A.INTS, ints: v });

function model(graph: onnx.IGraphProto, contrib: boolean): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, ...(contrib ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    producerName: 'attention-explorer tests',
    graph,
  }).finish();
}

const inputs = (): onnx.IValueInfoProto[] =>
  ['input_ids', 'attention_mask'].map((name) => ({
    name,
    type: { tensorType: { elemType: I64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
  }));
const logitsOutput = (): onnx.IValueInfoProto[] => [
  {
    name: 'logits',
    type: {
      tensorType: {
        elemType: F,
        shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: VOCAB }] },
      },
    },
  },
];

function fusedGraph(w: Weights, cos: Float32Array, sin: Float32Array, half: number, o: GqaOptions): Uint8Array {
  const nodes: onnx.INodeProto[] = [
    node('Gather', ['embedding', 'input_ids'], 'x'),
    node('MatMul', ['x', 'wq'], 'q'),
    node('MatMul', ['x', 'wk'], 'k'),
    node('MatMul', ['x', 'wv'], 'v'),
    // seqlens_k (tokens − 1 per sequence) and the total length, as the model builder derives them.
    node('ReduceSum', ['attention_mask', 'axis1'], 'mask_sum', [intAttr('keepdims', 0)]),
    node('Sub', ['mask_sum', 'one'], 'seqlens_k64'),
    node('Cast', ['seqlens_k64'], 'seqlens_k', [intAttr('to', I32)]),
    node('Shape', ['attention_mask'], 'mask_shape'),
    node('Gather', ['mask_shape', 'index1'], 'total64'),
    node('Cast', ['total64'], 'total', [intAttr('to', I32)]),
  ];
  if (o.packed) nodes.push(node('Concat', ['q', 'k', 'v'], 'qkv', [intAttr('axis', -1)]));
  const attributes = [
    intAttr('num_heads', HEADS),
    intAttr('kv_num_heads', KV_HEADS),
    intAttr('do_rotary', 1),
    intAttr('rotary_interleaved', o.interleaved ? 1 : 0),
    ...(o.softcap ? [floatAttr('softcap', o.softcap)] : []),
    ...(o.localWindow ? [intAttr('local_window_size', o.localWindow)] : []),
  ];
  nodes.push(
    node(
      'GroupQueryAttention',
      [
        o.packed ? 'qkv' : 'q',
        o.packed ? '' : 'k',
        o.packed ? '' : 'v',
        '',
        '',
        'seqlens_k',
        'total',
        'cos_cache',
        'sin_cache',
      ],
      ['context', 'present_key', 'present_value'],
      attributes,
      'com.microsoft',
    ),
    node('MatMul', ['context', 'wo'], 'logits'),
  );
  return model(
    {
      name: 'gqa-rotary',
      input: inputs(),
      output: logitsOutput(),
      initializer: [
        floats('embedding', [VOCAB, HIDDEN], w.embedding),
        floats('wq', [HIDDEN, HEADS * DIM], w.wq),
        floats('wk', [HIDDEN, KV_HEADS * DIM], w.wk),
        floats('wv', [HIDDEN, KV_HEADS * DIM], w.wv),
        floats('wo', [HEADS * DIM, VOCAB], w.wo),
        floats('cos_cache', [POSITIONS, half], cos),
        floats('sin_cache', [POSITIONS, half], sin),
        ints('axis1', [1]),
        ints('one', [1], []),
        ints('index1', [1], []),
      ],
      node: nodes,
    },
    true,
  );
}

/** The same computation for `tokens` tokens, in plain operators (the sequence length is fixed). */
function twinGraph(
  w: Weights,
  cos: Float32Array,
  sin: Float32Array,
  half: number,
  tokens: number,
  o: GqaOptions,
): Uint8Array {
  const T = tokens;
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [
    floats('embedding', [VOCAB, HIDDEN], w.embedding),
    floats('wq', [HIDDEN, HEADS * DIM], w.wq),
    floats('wk', [HIDDEN, KV_HEADS * DIM], w.wk),
    floats('wv', [HIDDEN, KV_HEADS * DIM], w.wv),
    floats('wo', [HEADS * DIM, VOCAB], w.wo),
    floats('scale', [], Float32Array.of(1 / Math.sqrt(DIM))),
    ints('shape_q', [1, T, HEADS, DIM]),
    ints('shape_kv', [1, T, KV_HEADS, DIM]),
    ints('shape_out', [1, T, HEADS * DIM]),
    ints('expand_kv', [1, KV_HEADS, HEADS / KV_HEADS, T, DIM]),
    ints('shape_heads', [1, HEADS, T, DIM]),
    ints('axis2', [2]),
    ints('kv_heads_shape', [1, KV_HEADS, T, DIM]),
  ];
  // The cos and sin of positions 0..T−1, as the operator reads them from its caches.
  const cosT = cos.subarray(0, T * half);
  const sinT = sin.subarray(0, T * half);
  const pairs = o.interleaved;
  inits.push(
    floats('cos', pairs ? [T, half, 1] : [T, half], Float32Array.from(cosT)),
    floats('sin', pairs ? [T, half, 1] : [T, half], Float32Array.from(sinT)),
  );
  let n = 0;
  const slice = (x: string, from: number, to: number, axis: number): string => {
    const id = `slice${n++}`;
    inits.push(ints(`${id}_s`, [from]), ints(`${id}_e`, [to]), ints(`${id}_a`, [axis]));
    nodes.push(node('Slice', [x, `${id}_s`, `${id}_e`, `${id}_a`], id));
    return id;
  };
  const op = (type: string, ins: string[], attribute: onnx.IAttributeProto[] = []): string => {
    const id = `${type.toLowerCase()}${n++}`;
    nodes.push(node(type, ins, id, attribute));
    return id;
  };
  /** x [1, heads, T, DIM] rotated as the operator rotates it. */
  const rotate = (x: string, heads: number): string => {
    if (pairs) {
      // Interleaved: pairs (2i, 2i+1) over the whole head.
      inits.push(ints(`pairs${heads}`, [1, heads, T, DIM / 2, 2]));
      const p = op('Reshape', [x, `pairs${heads}`]);
      const even = slice(p, 0, 1, 4);
      const odd = slice(p, 1, 2, 4);
      const re = op('Sub', [op('Mul', [even, 'cos']), op('Mul', [odd, 'sin'])]);
      const ro = op('Add', [op('Mul', [odd, 'cos']), op('Mul', [even, 'sin'])]);
      return op('Reshape', [
        op('Concat', [re, ro], [intAttr('axis', 4)]),
        x === 'q_heads' ? 'shape_heads' : 'kv_heads_shape',
      ]);
    }
    const x1 = slice(x, 0, half, 3);
    const x2 = slice(x, half, 2 * half, 3);
    const r1 = op('Sub', [op('Mul', [x1, 'cos']), op('Mul', [x2, 'sin'])]);
    const r2 = op('Add', [op('Mul', [x2, 'cos']), op('Mul', [x1, 'sin'])]);
    const parts = [r1, r2];
    if (2 * half < DIM) parts.push(slice(x, 2 * half, DIM, 3));
    return op('Concat', parts, [intAttr('axis', 3)]);
  };
  nodes.push(
    node('Gather', ['embedding', 'input_ids'], 'x'),
    node('MatMul', ['x', 'wq'], 'q'),
    node('MatMul', ['x', 'wk'], 'k'),
    node('MatMul', ['x', 'wv'], 'v'),
    node('Reshape', ['q', 'shape_q'], 'q4'),
    node('Reshape', ['k', 'shape_kv'], 'k4'),
    node('Reshape', ['v', 'shape_kv'], 'v4'),
    node('Transpose', ['q4'], 'q_heads', [intsAttr('perm', [0, 2, 1, 3])]),
    node('Transpose', ['k4'], 'k_heads', [intsAttr('perm', [0, 2, 1, 3])]),
    node('Transpose', ['v4'], 'v_heads', [intsAttr('perm', [0, 2, 1, 3])]),
  );
  const qr = rotate('q_heads', HEADS);
  const kr = rotate('k_heads', KV_HEADS);
  // Each key/value head serves HEADS / KV_HEADS query heads in a row.
  const repeat = (x: string): string =>
    op('Reshape', [op('Expand', [op('Unsqueeze', [x, 'axis2']), 'expand_kv']), 'shape_heads']);
  const kAll = repeat(kr);
  const vAll = repeat('v_heads');
  let scores = op('Mul', [op('MatMul', [qr, op('Transpose', [kAll], [intsAttr('perm', [0, 1, 3, 2])])]), 'scale']);
  if (o.softcap) {
    inits.push(floats('cap', [], Float32Array.of(o.softcap)));
    scores = op('Mul', [op('Tanh', [op('Div', [scores, 'cap'])]), 'cap']);
  }
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++)
    for (let j = 0; j < T; j++) {
      // A window of localWindow tokens: the query and the localWindow − 1 before it.
      const hidden = j > i || (o.localWindow !== undefined && j <= i - o.localWindow);
      mask[i * T + j] = hidden ? -Infinity : 0;
    }
  inits.push(floats('mask', [T, T], mask));
  nodes.push(
    node('Add', [scores, 'mask'], 'masked'),
    node('Softmax', ['masked'], 'probabilities', [intAttr('axis', -1)]),
  );
  const context = op('MatMul', ['probabilities', vAll]);
  const merged = op('Reshape', [op('Transpose', [context], [intsAttr('perm', [0, 2, 1, 3])]), 'shape_out']);
  nodes.push(node('MatMul', [merged, 'wo'], 'logits'));
  return model(
    { name: 'gqa-rotary-twin', input: inputs(), output: logitsOutput(), initializer: inits, node: nodes },
    false,
  );
}
