/**
 * What a causal language model predicts at each position, from its logits ([T, vocabulary]):
 * the log-probability of the token that actually follows, and the most likely next tokens.
 * Pure arithmetic, in float64 (a log-softmax over 150,000 entries loses digits in float32).
 */
export interface NextToken {
  id: number;
  /** Probability, 0..1. */
  p: number;
}

export interface Prediction {
  /** Natural log of the probability the model gave the next token; null for the last position. */
  logprob: number | null;
  /** The `k` most likely next tokens, most likely first. */
  top: NextToken[];
}

export function predictionsFrom(logits: Float32Array, vocabulary: number, ids: readonly number[], k = 5): Prediction[] {
  const t = ids.length;
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
    out.push({
      logprob: i + 1 < t ? row[ids[i + 1]] - logZ : null,
      top: best.map((id) => ({ id, p: Math.exp(row[id] - logZ) })),
    });
  }
  return out;
}
