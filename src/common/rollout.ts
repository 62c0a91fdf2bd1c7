import type { AttentionStore } from './attention-store';

/**
 * Attention rollout (Abnar & Zuidema 2020): how much each token's representation at a layer draws
 * on each input token, through the residual stream. Per layer Ã = ½·(mean over heads) + ½·I with
 * rows renormalised; the rollout up to layer l is Ã_l·…·Ã_0. Returns, per layer, the T×T
 * row-major matrix of the rollout up to it. A row only multiplies the keys it has weight on
 * (a causal model's earlier keys, a window's own keys), which keeps long text affordable.
 */
export function rollout(store: AttentionStore): Float32Array[] {
  const n = store.tokens;
  const out: Float32Array[] = [];
  let below: Float32Array | undefined;
  for (let layer = 0; layer < store.layers; layer++) {
    const mixed = new Float32Array(n * n);
    for (let q = 0; q < n; q++) {
      const { keyStart, weights } = store.row(layer, 'mean', q);
      let sum = 0;
      for (let j = 0; j < weights.length; j++) sum += 0.5 * weights[j];
      sum += 0.5;
      const row = q * n;
      for (let j = 0; j < weights.length; j++) mixed[row + keyStart + j] = (0.5 * weights[j]) / sum;
      mixed[row + q] += 0.5 / sum;
    }
    if (!below) {
      out.push(mixed);
      below = mixed;
      continue;
    }
    const next = new Float32Array(n * n);
    for (let q = 0; q < n; q++) {
      const row = q * n;
      for (let k = 0; k < n; k++) {
        const a = mixed[row + k];
        if (a === 0) continue;
        const from = k * n;
        for (let x = 0; x < n; x++) next[row + x] += a * below[from + x];
      }
    }
    out.push(next);
    below = next;
  }
  return out;
}
