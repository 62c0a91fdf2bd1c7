/**
 * The query·key view's arithmetic: one layer's queries and keys, and for one head and one query
 * the scores q·k·scale, what the model adds to them (the mask, and any bias), and their softmax,
 * which is the attention itself. Pure, for the panel, the CLI and the tests.
 */

/** One layer's query and key vectors as the model's score product multiplies them, one window. */
export interface QueryKeyLayer {
  heads: number;
  /** Fewer than `heads` with grouped-query attention: query head h uses key head ⌊h / (heads / kvHeads)⌋. */
  kvHeads: number;
  dim: number;
  queries: number;
  keys: number;
  /** [heads, queries, dim]. */
  q: Float32Array;
  /** [kvHeads, keys, dim]. */
  k: Float32Array;
  scale: number;
  /** Scores capped as softcap·tanh(q·k·scale / softcap) before the mask (Gemma 2's GroupQueryAttention). */
  softcap?: number;
  /**
   * What is added to the scores before the softmax, [maskHeads, queries, keys], −Infinity where a
   * key is masked: known for fused operators (their mask input, causality); null for unfused
   * graphs, where it is recovered from the attention (`queryKeyRow`).
   */
  mask: Float32Array | null;
  maskHeads: number;
}

export interface QueryKeyRow {
  /** The query vector (dim). */
  q: Float32Array;
  /** Each key's vector (keys × dim). */
  k: Float32Array[];
  /** q·k × scale per key. */
  scores: number[];
  /** Added to each score before the softmax: 0, −Infinity (masked), or a bias. */
  mask: number[];
  /** softmax(scores + mask). */
  probabilities: number[];
  /** The mask was recovered from the attention, not read from the model. */
  maskRecovered: boolean;
}

/**
 * One head's row for one query. For an unfused graph, `attention` (the head's row of probabilities
 * over the same keys) gives the mask: m = ln p − s, shifted so that its largest value is 0 — what
 * the model added, up to the softmax's per-row constant; a key with p = 0 gets −Infinity.
 */
export function queryKeyRow(
  layer: QueryKeyLayer,
  head: number,
  query: number,
  attention?: ArrayLike<number>,
): QueryKeyRow {
  const { dim, keys } = layer;
  if (head < 0 || head >= layer.heads) throw new RangeError(`head ${head} of ${layer.heads}`);
  if (query < 0 || query >= layer.queries) throw new RangeError(`query ${query} of ${layer.queries}`);
  const kvHead = Math.floor(head / (layer.heads / layer.kvHeads));
  const q = layer.q.subarray((head * layer.queries + query) * dim, (head * layer.queries + query + 1) * dim);
  const k: Float32Array[] = [];
  const scores: number[] = [];
  for (let j = 0; j < keys; j++) {
    const kv = layer.k.subarray((kvHead * keys + j) * dim, (kvHead * keys + j + 1) * dim);
    k.push(kv);
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += q[d] * kv[d];
    const scaled = dot * layer.scale;
    scores.push(layer.softcap ? layer.softcap * Math.tanh(scaled / layer.softcap) : scaled);
  }
  let mask: number[];
  if (layer.mask) {
    const mh = layer.maskHeads === 1 ? 0 : head;
    const base = (mh * layer.queries + query) * keys;
    mask = Array.from(layer.mask.subarray(base, base + keys));
  } else {
    if (!attention || attention.length !== keys)
      throw new Error('the attention row is needed to recover the mask of an unfused graph');
    const raw = scores.map((s, j) => (attention[j] > 0 ? Math.log(attention[j]) - s : -Infinity));
    const top = Math.max(...raw);
    mask = raw.map((m) => m - top);
  }
  return { q, k, scores, mask, probabilities: softmax(scores.map((s, j) => s + mask[j])), maskRecovered: !layer.mask };
}

export function softmax(x: readonly number[]): number[] {
  const max = Math.max(...x);
  if (max === -Infinity) return x.map(() => 0);
  const e = x.map((v) => (v === -Infinity ? 0 : Math.exp(v - max)));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
