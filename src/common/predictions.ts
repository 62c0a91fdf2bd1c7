/**
 * What a language model predicts at each position, from its logits ([T, vocabulary]): the
 * log-probability of the token it should have predicted there (a causal model: the one that
 * follows; a masked model, its row taken with the token masked: the token itself) and the most
 * likely candidates. Pure arithmetic, in float64 (a log-softmax over 150,000 entries loses digits
 * in float32).
 */
export interface NextToken {
  id: number;
  /** Probability, 0..1. */
  p: number;
}

export interface Prediction {
  /** Natural log of the probability the model gave the token it should predict there; null where there is none. */
  logprob: number | null;
  /** The `k` most likely tokens there, most likely first. */
  top: NextToken[];
}

/** What each row of a causal model's logits predicts: the token after it (none after the last). */
export function nextTokenTargets(ids: readonly number[]): (number | null)[] {
  return ids.map((_, i) => (i + 1 < ids.length ? ids[i + 1] : null));
}

/**
 * Each row's prediction; `targets` (one per row) is the token each row should predict: by default
 * the next one, as a causal model's rows do.
 */
export function predictionsFrom(
  logits: Float32Array,
  vocabulary: number,
  ids: readonly number[],
  k = 5,
  targets: readonly (number | null)[] = nextTokenTargets(ids),
): Prediction[] {
  const t = targets.length;
  if (logits.length !== t * vocabulary)
    throw new Error(`logits of ${logits.length} values for ${t} tokens × ${vocabulary} entries`);
  const out: Prediction[] = [];
  for (let i = 0; i < t; i++) {
    const row = logits.subarray(i * vocabulary, (i + 1) * vocabulary);
    let max = -Infinity;
    for (let v = 0; v < vocabulary; v++) if (row[v] > max) max = row[v];
    let sum = 0;
    for (let v = 0; v < vocabulary; v++) sum += Math.exp(row[v] - max);
    const logZ = max + Math.log(sum);
    // The k largest by a partial insertion: k is small, the vocabulary large.
    const best: number[] = [];
    for (let v = 0; v < vocabulary; v++) {
      if (best.length === k && row[v] <= row[best[k - 1]]) continue;
      let j = Math.min(best.length, k - 1);
      if (best.length < k) best.push(v);
      while (j > 0 && row[best[j - 1]] < row[v]) {
        best[j] = best[j - 1];
        j--;
      }
      best[j] = v;
    }
    const target = targets[i];
    out.push({
      logprob: target === null ? null : row[target] - logZ,
      top: best.map((id) => ({ id, p: Math.exp(row[id] - logZ) })),
    });
  }
  return out;
}
