import type { HeadChoice } from './protocol';
import { rolloutSteps, rolloutWindow } from './rollout';

/**
 * One window's attention as the runtime returned it: per layer, one [heads, T, T] typed array,
 * never copied into nested arrays. The window ran the sequence's tokens `start … start+length-1`,
 * preceded by the tokens at the indices in `lead` and followed by those in `trail` (the
 * sequence's special tokens, given to every window again): T = lead + length + trail.
 */
export interface AttentionWindow {
  start: number;
  length: number;
  layers: Float32Array[];
  lead?: readonly number[];
  trail?: readonly number[];
}

/** How many tokens the window's run had. */
export function windowSize(w: AttentionWindow): number {
  return (w.lead?.length ?? 0) + w.length + (w.trail?.length ?? 0);
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
  private readonly headScratch: Float32Array;

  constructor(
    readonly windows: readonly AttentionWindow[],
    readonly layers: number,
    readonly heads: number,
  ) {
    const last = windows[windows.length - 1];
    this.tokens = last ? last.start + last.length : 0;
    this.queryWindow = assignQueries(windows, this.tokens);
    const widest = Math.max(0, ...windows.map((w) => this.span(w).keyEnd - this.span(w).keyStart));
    this.scratch = new Float32Array(widest);
    this.headScratch = new Float32Array(widest);
  }

  windowOf(query: number): AttentionWindow {
    return this.windows[this.queryWindow[query]];
  }

  /** The keys a query's row covers: from the window's first key (a re-added [CLS] is 0) to its last. */
  private span(w: AttentionWindow): { keyStart: number; keyEnd: number } {
    const keyStart = w.lead?.length ? w.lead[0] : w.start;
    const keyEnd = w.trail?.length ? w.trail[w.trail.length - 1] + 1 : w.start + w.length;
    return { keyStart, keyEnd };
  }

  /**
   * One head's row. A view into the runtime's array (no copy) when the window has no re-added
   * tokens; else laid out over the sequence in a scratch buffer that the next call overwrites.
   */
  headRow(layer: number, head: number, query: number): AttentionRow {
    return this.readHead(layer, head, query, this.headScratch);
  }

  private readHead(
    layer: number,
    head: number,
    query: number,
    into: Float32Array,
    windows: readonly AttentionWindow[] = this.windows,
  ): AttentionRow {
    const w = windows[this.queryWindow[query]];
    const lead = w.lead ?? [];
    const trail = w.trail ?? [];
    const t = windowSize(w);
    const q = lead.length + query - w.start;
    const offset = (head * t + q) * t;
    const raw = w.layers[layer].subarray(offset, offset + t);
    if (lead.length === 0 && trail.length === 0) return { keyStart: w.start, weights: raw };
    const { keyStart, keyEnd } = this.span(w);
    const out = into.subarray(0, keyEnd - keyStart);
    out.fill(0);
    lead.forEach((key, i) => (out[key - keyStart] = raw[i]));
    out.set(raw.subarray(lead.length, lead.length + w.length), w.start - keyStart);
    trail.forEach((key, i) => (out[key - keyStart] = raw[lead.length + w.length + i]));
    return { keyStart, weights: out };
  }

  /**
   * A row for a head or an aggregate over heads. Aggregates are written into a scratch buffer
   * that the next call overwrites: copy it if you keep it.
   */
  row(layer: number, head: HeadChoice, query: number): AttentionRow {
    if (typeof head === 'number') return this.headRow(layer, head, query);
    if (head === 'rollout') return this.readHead(layer, 0, query, this.headScratch, this.rolled());
    const w = this.windowOf(query);
    const { keyStart, keyEnd } = this.span(w);
    const out = this.scratch.subarray(0, keyEnd - keyStart);
    out.fill(head === 'max' ? -Infinity : 0);
    for (let h = 0; h < this.heads; h++) {
      const r = this.readHead(layer, h, query, this.headScratch).weights;
      if (head === 'max') {
        for (let k = 0; k < r.length; k++) if (r[k] > out[k]) out[k] = r[k];
      } else {
        for (let k = 0; k < r.length; k++) out[k] += r[k];
      }
    }
    if (head === 'mean') for (let k = 0; k < out.length; k++) out[k] /= this.heads;
    return { keyStart, weights: out };
  }

  private rolledWindows?: AttentionWindow[];
  private rolling?: Promise<void>;

  /** Each window with its rollout in place of its layers (one "head"), computed when first asked for. */
  private rolled(): readonly AttentionWindow[] {
    this.rolledWindows ??= this.windows.map((w) => ({
      ...w,
      layers: rolloutWindow(w.layers, this.heads, windowSize(w)),
    }));
    return this.rolledWindows;
  }

  /** Whether the rollout is computed (reading it then costs nothing). */
  get rolloutReady(): boolean {
    return this.rolledWindows !== undefined;
  }

  /**
   * Computes the rollout in steps, awaiting `pause` (with the fraction done) whenever a step has
   * run `sliceMs`: the panel stays answerable while a large model's rollout is computed.
   */
  prepareRollout(pause: (done: number) => Promise<void>, sliceMs = 30): Promise<void> {
    if (this.rolledWindows) return Promise.resolve();
    this.rolling ??= (async () => {
      const out: AttentionWindow[] = [];
      let since = Date.now();
      for (const [i, w] of this.windows.entries()) {
        const steps = rolloutSteps(w.layers, this.heads, windowSize(w));
        let r = steps.next();
        while (!r.done) {
          if (Date.now() - since > sliceMs) {
            await pause((i + r.value) / this.windows.length);
            since = Date.now();
          }
          r = steps.next();
        }
        out.push({ ...w, layers: r.value });
      }
      this.rolledWindows ??= out;
    })();
    return this.rolling;
  }

  /** A query's row laid over the whole sequence: 0 for keys outside its window. A new array. */
  denseRow(layer: number, head: HeadChoice, query: number): Float32Array {
    const out = new Float32Array(this.tokens);
    const r = this.row(layer, head, query);
    out.set(r.weights, r.keyStart);
    return out;
  }

  /** Several queries' rows summed, over the whole sequence (a new array): what they attend to together. */
  rowsSum(layer: number, head: HeadChoice, first: number, last: number): Float32Array {
    const out = new Float32Array(this.tokens);
    for (let q = first; q <= last; q++) {
      const r = this.row(layer, head, q);
      for (let j = 0; j < r.weights.length; j++) out[r.keyStart + j] += r.weights[j];
    }
    return out;
  }

  /** Several keys' columns summed (a new array): how much each query attends to them together. */
  columnsSum(layer: number, head: HeadChoice, first: number, last: number): Float32Array {
    const out = new Float32Array(this.tokens);
    for (let q = 0; q < this.tokens; q++) {
      const r = this.row(layer, head, q);
      const from = Math.max(first, r.keyStart) - r.keyStart;
      const to = Math.min(last + 1, r.keyStart + r.weights.length) - r.keyStart;
      for (let j = from; j < to; j++) out[q] += r.weights[j];
    }
    return out;
  }

  private lastColumn?: { layer: number; head: HeadChoice; key: number; weights: Float32Array };

  /**
   * What attends to `key`: each query's weight on it (0 where the key lies outside the query's
   * window). Kept until another column is asked for: the token strip, the head view and the
   * details ask for the same one in one redraw. Read it, do not change it.
   */
  column(layer: number, head: HeadChoice, key: number): Float32Array {
    const c = this.lastColumn;
    if (c && c.layer === layer && c.head === head && c.key === key) return c.weights;
    const weights = new Float32Array(this.tokens);
    if (head === 'rollout') for (let q = 0; q < this.tokens; q++) weights[q] = this.weight(layer, head, q, key);
    else {
      // One weight per query and head, read where it lies: a mean over 12 heads of 512 queries
      // is 6,000 reads, not the 3 million of summing every query's whole row.
      const heads = typeof head === 'number' ? [head] : Array.from({ length: this.heads }, (_, h) => h);
      for (let q = 0; q < this.tokens; q++) {
        let acc = 0;
        for (const h of heads) {
          const w = this.headWeight(layer, h, q, key);
          acc = head === 'max' ? Math.max(acc, w) : acc + w;
        }
        weights[q] = head === 'mean' ? acc / this.heads : acc;
      }
    }
    this.lastColumn = { layer, head, key, weights };
    return weights;
  }

  /** One head's weight query → key, read in place (0 when the key is not in the query's window). */
  private headWeight(layer: number, head: number, query: number, key: number): number {
    const w = this.windowOf(query);
    const lead = w.lead ?? [];
    const t = windowSize(w);
    let k: number;
    if (key >= w.start && key < w.start + w.length) k = lead.length + key - w.start;
    else {
      const l = lead.indexOf(key);
      const tr = (w.trail ?? []).indexOf(key);
      if (l >= 0) k = l;
      else if (tr >= 0) k = lead.length + w.length + tr;
      else return 0;
    }
    const q = lead.length + query - w.start;
    return w.layers[layer][(head * t + q) * t + k];
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

/** The sequence's token indices in the order a window ran them: its lead, its tokens, its trail. */
export function windowIndices(w: AttentionWindow): number[] {
  return [...(w.lead ?? []), ...Array.from({ length: w.length }, (_, i) => w.start + i), ...(w.trail ?? [])];
}
