import type { HeadChoice } from './protocol';

/**
 * One window's attention as the runtime returned it: per layer, one [heads, T, T] typed array,
 * never copied into nested arrays. `start` is the window's first token in the whole sequence.
 */
export interface AttentionWindow {
  start: number;
  length: number;
  layers: Float32Array[];
}

export interface AttentionRow {
  /** Global index of the first key the row covers. */
  keyStart: number;
  weights: Float32Array;
}

/**
 * The attention of a token sequence analysed in one or more overlapping windows. Each query's
 * row is read from the window chosen for it by `assignQueries`, so a row always covers the keys
 * of that window only (keys outside it get weight 0).
 */
export class AttentionStore {
  readonly tokens: number;
  private readonly queryWindow: Int32Array;
  private readonly scratch: Float32Array;

  constructor(
    readonly windows: readonly AttentionWindow[],
    readonly layers: number,
    readonly heads: number,
  ) {
    const last = windows[windows.length - 1];
    this.tokens = last ? last.start + last.length : 0;
    this.queryWindow = assignQueries(windows, this.tokens);
    this.scratch = new Float32Array(Math.max(0, ...windows.map((w) => w.length)));
  }

  windowOf(query: number): AttentionWindow {
    return this.windows[this.queryWindow[query]];
  }

  /** One head's row, a view into the runtime's array (no copy). */
  headRow(layer: number, head: number, query: number): AttentionRow {
    const w = this.windowOf(query);
    const t = w.length;
    const q = query - w.start;
    const offset = (head * t + q) * t;
    return { keyStart: w.start, weights: w.layers[layer].subarray(offset, offset + t) };
  }

  /**
   * A row for a head or an aggregate over heads. Aggregates are written into a scratch buffer
   * that the next call overwrites: copy it if you keep it.
   */
  row(layer: number, head: HeadChoice, query: number): AttentionRow {
    if (typeof head === 'number') return this.headRow(layer, head, query);
    const w = this.windowOf(query);
    const out = this.scratch.subarray(0, w.length);
    out.fill(head === 'max' ? -Infinity : 0);
    for (let h = 0; h < this.heads; h++) {
      const r = this.headRow(layer, h, query).weights;
      if (head === 'max') {
        for (let k = 0; k < r.length; k++) if (r[k] > out[k]) out[k] = r[k];
      } else {
        for (let k = 0; k < r.length; k++) out[k] += r[k];
      }
    }
    if (head === 'mean') for (let k = 0; k < out.length; k++) out[k] /= this.heads;
    return { keyStart: w.start, weights: out };
  }

  /** The weight query → key (0 when the key lies outside the query's window). */
  weight(layer: number, head: HeadChoice, query: number, key: number): number {
    const r = this.row(layer, head, query);
    const k = key - r.keyStart;
    return k >= 0 && k < r.weights.length ? r.weights[k] : 0;
  }
}

/**
 * For each token, the window whose row is used: the one where the token sits farthest from an
 * edge that cuts off context (the sequence's own ends cut nothing off).
 */
export function assignQueries(windows: readonly AttentionWindow[], tokens: number): Int32Array {
  const out = new Int32Array(tokens);
  for (let q = 0; q < tokens; q++) {
    let best = 0;
    let bestMargin = -Infinity;
    windows.forEach((w, i) => {
      if (q < w.start || q >= w.start + w.length) return;
      const left = w.start === 0 ? Infinity : q - w.start;
      const right = w.start + w.length === tokens ? Infinity : w.start + w.length - 1 - q;
      const margin = Math.min(left, right);
      if (margin > bestMargin) {
        bestMargin = margin;
        best = i;
      }
    });
    out[q] = best;
  }
  return out;
}
