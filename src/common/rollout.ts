import type { AttentionStore } from './attention-store';

/**
 * Attention rollout (Abnar & Zuidema 2020): how much each token's representation at a layer draws
 * on each input token, through the residual stream. Per layer Ã = ½·(mean over heads) + ½·I with
 * rows renormalised; the rollout up to layer l is Ã_l·…·Ã_0.
 *
 * Over one window's own arrays (per layer, [heads, t, t]): returns per layer the [1, t, t] rollout
 * up to it. Attention never crosses a window, so neither does its rollout. A row multiplies only
 * the keys it has weight on (a causal model's earlier keys), which keeps it affordable.
 */
export function rolloutWindow(layers: readonly Float32Array[], heads: number, t: number): Float32Array[] {
  const steps = rolloutSteps(layers, heads, t);
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/**
 * The same computation in steps: it yields the fraction done every few rows, so that a caller on
 * the panel's thread can let the page answer in between (a BERT-base window of 512 tokens is
 * about 5 s of arithmetic here).
 */
export function* rolloutSteps(
  layers: readonly Float32Array[],
  heads: number,
  t: number,
): Generator<number, Float32Array[], void> {
  const out: Float32Array[] = [];
  let below: Float32Array | undefined;
  for (const a of layers) {
    const mixed = mixHeads(a, heads, t);
    if (!below) {
      out.push(mixed);
      below = mixed;
      continue;
    }
    const next = new Float32Array(t * t);
    // The arithmetic stays in plain functions: V8 optimises a generator's own loops less well.
    for (let q = 0; q < t; q += ROWS_PER_STEP) {
      multiplyRows(mixed, below, next, t, q, Math.min(t, q + ROWS_PER_STEP));
      yield (out.length + q / t) / layers.length;
    }
    out.push(next);
    below = next;
  }
  return out;
}

const ROWS_PER_STEP = 16;

/** Ã = ½·(mean over heads) + ½·I, rows renormalised. */
function mixHeads(a: Float32Array, heads: number, t: number): Float32Array {
  const mixed = new Float32Array(t * t);
  for (let q = 0; q < t; q++) {
    const row = q * t;
    let sum = 0;
    for (let h = 0; h < heads; h++) {
      const from = (h * t + q) * t;
      for (let k = 0; k < t; k++) mixed[row + k] += a[from + k];
    }
    for (let k = 0; k < t; k++) sum += mixed[row + k] = (0.5 * mixed[row + k]) / heads;
    mixed[row + q] += 0.5;
    sum += 0.5;
    for (let k = 0; k < t; k++) mixed[row + k] /= sum;
  }
  return mixed;
}

/** Rows `from` … `to`−1 of next = mixed · below (skipping zero weights: a causal row's later keys). */
function multiplyRows(
  mixed: Float32Array,
  below: Float32Array,
  next: Float32Array,
  t: number,
  from: number,
  to: number,
): void {
  for (let q = from; q < to; q++) {
    const row = q * t;
    for (let k = 0; k < t; k++) {
      const w = mixed[row + k];
      if (w === 0) continue;
      const at = k * t;
      for (let x = 0; x < t; x++) next[row + x] += w * below[at + x];
    }
  }
}

/** The rollout of a one-window analysis (the CLI's), per layer as a T×T row-major matrix. */
export function rollout(store: AttentionStore): Float32Array[] {
  if (store.windows.length !== 1) throw new Error('the rollout of a whole sequence needs a single window');
  const w = store.windows[0];
  return rolloutWindow(w.layers, store.heads, w.length);
}
