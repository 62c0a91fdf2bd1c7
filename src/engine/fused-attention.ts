import type { QueryKeyLayer } from '../common/query-key';
/**
 * Recovers attention probabilities from a fused attention operator's inputs: the operator hides
 * softmax(QKᵀ·scale + mask), so the engine exposes its query and key inputs and computes it.
 * Pure arithmetic on typed arrays; shapes follow the operators' own conventions.
 */
export interface FusedSpec {
  /** Query heads (from the operator's attribute; 0 = read from a 4-D query's shape). */
  qHeads: number;
  /** Key/value heads: fewer than qHeads for grouped-query attention. */
  kvHeads: number;
  /** Scale of the scores; 0 = 1/√head_dim, the operators' default. */
  scale: number;
  causal: boolean;
  /** Query, key and value packed in the query input ([B, S, (heads + 2·kvHeads)·d]), as GroupQueryAttention allows. */
  packed?: boolean;
  /** Rotary positions the operator applies to the query and key inside (GroupQueryAttention's do_rotary). */
  rotary?: Rotary;
  /** Scores capped as softcap·tanh(score / softcap) before the mask (0 or absent: none). */
  softcap?: number;
  /**
   * Sliding window of `localWindow` tokens: a query sees itself and the localWindow − 1 keys before
   * it (absent or ≤ 0: all) — ONNX Runtime's local_window_size, measured against the operator.
   */
  localWindow?: number;
}

/** GroupQueryAttention's rotary embedding: cos and sin caches [positions, rotaryDim / 2]. */
export interface Rotary {
  cos: Float32Array;
  sin: Float32Array;
  /** rotaryDim / 2: the caches' second dimension. */
  half: number;
  /** Pairs (2i, 2i+1) rotate together; otherwise (i, i + half). */
  interleaved: boolean;
}

/** A mask input: additive (float) or boolean (true = keep), shaped [S, L] or [1|B, 1|H, S, L]. */
export interface FusedMask {
  data: Float32Array | Uint8Array;
  dims: readonly number[];
  boolean: boolean;
}

export interface Tensor32 {
  data: Float32Array;
  dims: readonly number[];
}

/** [B, S, H*d] or [B, H, S, d] → per head, row-major [S, d] views with a stride. */
function headAccessor(
  t: Tensor32,
  heads: number,
): { heads: number; seq: number; dim: number; at: (h: number, s: number, d: number) => number } {
  if (t.dims.length === 4) {
    const [, h, seq, dim] = t.dims;
    return { heads: h, seq, dim, at: (hh, s, d) => t.data[(hh * seq + s) * dim + d] };
  }
  if (t.dims.length === 3) {
    const [, seq, hidden] = t.dims;
    if (!heads || hidden % heads !== 0) throw new Error(`cannot split a hidden size of ${hidden} into ${heads} heads`);
    const dim = hidden / heads;
    return { heads, seq, dim, at: (hh, s, d) => t.data[s * hidden + hh * dim + d] };
  }
  throw new Error(`fused attention input of rank ${t.dims.length}; expected 3 or 4`);
}

type Accessor = ReturnType<typeof headAccessor>;

/** The columns [from, from + width) of a [B, S, hidden] tensor: one part of a packed QKV input. */
function columns(t: Tensor32, from: number, width: number): Tensor32 {
  const [b, seq, hidden] = t.dims;
  const out = new Float32Array(b * seq * width);
  for (let r = 0; r < b * seq; r++) out.set(t.data.subarray(r * hidden + from, r * hidden + from + width), r * width);
  return { data: out, dims: [b, seq, width] };
}

/**
 * Rotates each head's vector at position p (its index: a run has no past) as the operator does:
 * (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin) over the first 2·half dimensions.
 */
function rotated(A: Accessor, r: Rotary): Accessor {
  const { heads, seq, dim } = A;
  if (2 * r.half > dim) throw new Error(`a rotary dimension of ${2 * r.half} exceeds the head size ${dim}`);
  if (seq * r.half > r.cos.length)
    throw new Error(`the rotary cache holds ${r.cos.length / r.half} positions, fewer than ${seq}`);
  const out = new Float32Array(heads * seq * dim);
  for (let h = 0; h < heads; h++)
    for (let s = 0; s < seq; s++) {
      const base = (h * seq + s) * dim;
      for (let d = 0; d < dim; d++) out[base + d] = A.at(h, s, d);
      for (let i = 0; i < r.half; i++) {
        const [a, b] = r.interleaved ? [2 * i, 2 * i + 1] : [i, i + r.half];
        const c = r.cos[s * r.half + i];
        const sn = r.sin[s * r.half + i];
        const x1 = out[base + a];
        const x2 = out[base + b];
        out[base + a] = x1 * c - x2 * sn;
        out[base + b] = x2 * c + x1 * sn;
      }
    }
  return { heads, seq, dim, at: (h, s, d) => out[(h * seq + s) * dim + d] };
}

/** The query and key heads the operator multiplies: unpacked, and rotated when it rotates them. */
function operands(q: Tensor32, k: Tensor32, spec: FusedSpec): { Q: Accessor; K: Accessor } {
  let qt = q;
  let kt = k;
  if (spec.packed) {
    const hidden = q.dims[2];
    const parts = spec.qHeads + 2 * spec.kvHeads;
    if (q.dims.length !== 3 || !spec.qHeads || hidden % parts !== 0)
      throw new Error(
        `cannot split a packed query, key and value of ${hidden} into ${spec.qHeads} + 2 × ${spec.kvHeads} heads`,
      );
    const d = hidden / parts;
    qt = columns(q, 0, spec.qHeads * d);
    kt = columns(q, spec.qHeads * d, spec.kvHeads * d);
  }
  let Q = headAccessor(qt, spec.qHeads);
  let K = headAccessor(kt, spec.kvHeads || spec.qHeads || Q.heads);
  if (Q.dim !== K.dim) throw new Error(`query head size ${Q.dim} differs from key head size ${K.dim}`);
  if (spec.rotary) {
    Q = rotated(Q, spec.rotary);
    K = rotated(K, spec.rotary);
  }
  return { Q, K };
}

/** Whether key l is hidden from query s: causality (keys after the query) and the sliding window. */
function hidden(spec: FusedSpec, s: number, l: number, S: number, L: number): boolean {
  const at = s + (L - S);
  if (spec.causal && l > at) return true;
  return spec.localWindow !== undefined && spec.localWindow > 0 && l <= at - spec.localWindow;
}

/**
 * softmax(Q·Kᵀ·scale + mask) as [heads, S, L]. `mask`, when given, is additive (float) or
 * boolean (true = keep), shaped [S, L], [1|B, 1|H, S, L].
 */
export function fusedAttentionProbs(
  q: Tensor32,
  k: Tensor32,
  spec: FusedSpec,
  mask?: FusedMask,
): { probs: Float32Array; heads: number } {
  const { Q, K } = operands(q, k, spec);
  if (Q.heads % K.heads !== 0) throw new Error(`${Q.heads} query heads cannot share ${K.heads} key heads`);
  const group = Q.heads / K.heads;
  const S = Q.seq;
  const L = K.seq;
  const scale = spec.scale || 1 / Math.sqrt(Q.dim);
  const probs = new Float32Array(Q.heads * S * L);
  const row = new Float64Array(L);
  const maskHeads = mask && mask.dims.length === 4 ? mask.dims[1] : 1;
  for (let h = 0; h < Q.heads; h++) {
    const kh = Math.floor(h / group);
    for (let s = 0; s < S; s++) {
      let max = -Infinity;
      for (let l = 0; l < L; l++) {
        let score: number;
        if (hidden(spec, s, l, S, L)) score = -Infinity;
        else {
          let dot = 0;
          for (let d = 0; d < Q.dim; d++) dot += Q.at(h, s, d) * K.at(kh, l, d);
          score = dot * scale;
          if (spec.softcap) score = spec.softcap * Math.tanh(score / spec.softcap);
          if (mask) {
            const mh = maskHeads === 1 ? 0 : h;
            const v = mask.data[(mh * S + s) * L + l];
            score = mask.boolean ? (v ? score : -Infinity) : score + v;
          }
        }
        row[l] = score;
        if (score > max) max = score;
      }
      let sum = 0;
      for (let l = 0; l < L; l++) {
        const e = row[l] === -Infinity ? 0 : Math.exp(row[l] - max);
        row[l] = e;
        sum += e;
      }
      const base = (h * S + s) * L;
      for (let l = 0; l < L; l++) probs[base + l] = sum > 0 ? row[l] / sum : 0;
    }
  }
  return { probs, heads: Q.heads };
}

/**
 * The query and key a fused operator multiplies, laid out per head ([heads, S, d], [kvHeads, L, d]),
 * after unpacking and rotary, its scale and cap, and the additive mask it applies ([1|heads, S, L],
 * −Infinity where masked: its mask input, its causality and sliding window) — the same arithmetic
 * as `fusedAttentionProbs`, kept apart for the query·key view.
 */
export function fusedQueryKey(q: Tensor32, k: Tensor32, spec: FusedSpec, mask?: FusedMask): QueryKeyLayer {
  const { Q, K } = operands(q, k, spec);
  const perHead = (A: Accessor): Float32Array => {
    const out = new Float32Array(A.heads * A.seq * A.dim);
    for (let h = 0, i = 0; h < A.heads; h++)
      for (let s = 0; s < A.seq; s++) for (let d = 0; d < A.dim; d++) out[i++] = A.at(h, s, d);
    return out;
  };
  const S = Q.seq;
  const L = K.seq;
  const maskHeads = mask && mask.dims.length === 4 ? mask.dims[1] : 1;
  const additive = new Float32Array(maskHeads * S * L);
  for (let h = 0; h < maskHeads; h++)
    for (let s = 0; s < S; s++)
      for (let l = 0; l < L; l++) {
        const at = (h * S + s) * L + l;
        let m = hidden(spec, s, l, S, L) ? -Infinity : 0;
        if (mask && m === 0) {
          const v = mask.data[at];
          m = mask.boolean ? (v ? 0 : -Infinity) : v;
        }
        additive[at] = m;
      }
  return {
    heads: Q.heads,
    kvHeads: K.heads,
    dim: Q.dim,
    queries: S,
    keys: L,
    q: perHead(Q),
    k: perHead(K),
    scale: spec.scale || 1 / Math.sqrt(Q.dim),
    softcap: spec.softcap || undefined,
    mask: additive,
    maskHeads,
  };
}
