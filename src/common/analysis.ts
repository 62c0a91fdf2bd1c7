import { type AttentionStore, windowSize } from './attention-store';
import type { AttentionView, TokenSummary, Weighted } from './protocol';

/**
 * The k largest positive entries of `weights` (ties: the earlier index first), as global
 * indices. Zero weights (masked keys, such as a causal model's future) are never listed.
 */
export function topK(weights: ArrayLike<number>, k: number, offset = 0): Weighted[] {
  const best: Weighted[] = [];
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (!(w > 0)) continue;
    if (best.length === k && w <= best[best.length - 1].weight) continue;
    let at = best.length;
    while (at > 0 && best[at - 1].weight < w) at--;
    best.splice(at, 0, { index: i + offset, weight: w });
    if (best.length > k) best.pop();
  }
  return best;
}

/** Keeps the k largest weights offered, for one key's "attended by" list. */
class TopKCollector {
  readonly items: Weighted[] = [];
  constructor(private readonly k: number) {}
  offer(index: number, weight: number): void {
    const items = this.items;
    if (items.length === this.k && weight <= items[items.length - 1].weight) return;
    let at = items.length;
    while (at > 0 && items[at - 1].weight < weight) at--;
    items.splice(at, 0, { index, weight });
    if (items.length > this.k) items.pop();
  }
}

/**
 * What the host needs for hovers and decorations: per token, its top-k attended tokens and the
 * top-k tokens attending to it, for one layer/head choice. A few KB, recomputed on each choice.
 */
export function summarise(store: AttentionStore, view: AttentionView, k: number): TokenSummary[] {
  const n = store.tokens;
  const by = Array.from({ length: n }, () => new TopKCollector(k));
  const out: TokenSummary[] = [];
  for (let q = 0; q < n; q++) {
    const { keyStart, weights } = store.row(view.layer, view.head, q);
    out.push({ attends: topK(weights, k, keyStart), attendedBy: [] });
    for (let j = 0; j < weights.length; j++) if (weights[j] > 0) by[keyStart + j].offer(q, weights[j]);
  }
  for (let key = 0; key < n; key++) out[key].attendedBy = by[key].items;
  return out;
}

/** Whether every head of every layer puts (numerically) no weight above the diagonal. */
export function isCausal(store: AttentionStore, tolerance = 1e-6): boolean {
  for (const w of store.windows) {
    const t = windowSize(w);
    for (const layer of w.layers) {
      for (let h = 0; h < store.heads; h++) {
        for (let q = 0; q < t; q++) {
          const base = (h * t + q) * t;
          for (let k = q + 1; k < t; k++) if (layer[base + k] > tolerance) return false;
        }
      }
    }
  }
  return true;
}
