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
  const Q = headAccessor(q, spec.qHeads);
  const K = headAccessor(k, spec.kvHeads || spec.qHeads || Q.heads);
  if (Q.dim !== K.dim) throw new Error(`query head size ${Q.dim} differs from key head size ${K.dim}`);
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
        if (spec.causal && l > s + (L - S)) score = -Infinity;
        else {
          let dot = 0;
          for (let d = 0; d < Q.dim; d++) dot += Q.at(h, s, d) * K.at(kh, l, d);
          score = dot * scale;
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
 * its scale, and the additive mask it applies ([1|heads, S, L], −Infinity where masked: its mask
 * input and its causality) — the same arithmetic as `fusedAttentionProbs`, kept apart for the
 * query·key view.
 */
export function fusedQueryKey(q: Tensor32, k: Tensor32, spec: FusedSpec, mask?: FusedMask): QueryKeyLayer {
  const Q = headAccessor(q, spec.qHeads);
  const K = headAccessor(k, spec.kvHeads || spec.qHeads || Q.heads);
  if (Q.dim !== K.dim) throw new Error(`query head size ${Q.dim} differs from key head size ${K.dim}`);
  const perHead = (A: ReturnType<typeof headAccessor>): Float32Array => {
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
        let m = spec.causal && l > s + (L - S) ? -Infinity : 0;
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
    mask: additive,
    maskHeads,
  };
}
