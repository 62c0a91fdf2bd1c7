import type { AttentionStore } from './attention-store';

/**
 * What a head does, measured on the analysed text itself (no probe data set): the scores the
 * interpretability literature uses to find previous-token, first-token (attention sink),
 * induction and broad heads. All are means over queries of one head's rows; a causal model's
 * rows put no weight on later keys, so its scores are over the keys it may attend to.
 */
export interface HeadScores {
  /** Mean over queries q ≥ 1 of A[q][q−1]; null for one token (no query has a previous token). */
  previousToken: number | null;
  /** Mean over queries of A[q][0]. */
  firstToken: number;
  /** Mean over queries of A[q][q]. */
  self: number;
  /** Mean over queries of −Σₖ A[q][k]·ln A[q][k], in nats: 0 for one key, ln n for n keys alike. */
  entropy: number;
  /** Mean over queries of Σₖ A[q][k]·|q−k|, in tokens. */
  meanDistance: number;
  /**
   * Mean over queries q whose token occurred earlier, at most recent position p with p + 1 < q,
   * of A[q][p+1] (the token that followed it then); null when nothing repeats.
   */
  induction: number | null;
}

export interface HeadScoreRow {
  layer: number;
  head: number;
  scores: HeadScores;
}

export const SCORE_NAMES: readonly (keyof HeadScores)[] = [
  'previousToken',
  'firstToken',
  'self',
  'entropy',
  'meanDistance',
  'induction',
];

/**
 * For each query, the position after the token's most recent earlier occurrence (−1: none, or
 * that position is the query itself or later, p + 1 ≥ q).
 */
export function inductionTargets(ids: readonly number[]): Int32Array {
  const out = new Int32Array(ids.length).fill(-1);
  const last = new Map<number, number>();
  for (let q = 0; q < ids.length; q++) {
    const p = last.get(ids[q]);
    if (p !== undefined && p + 1 < q) out[q] = p + 1;
    last.set(ids[q], q);
  }
  return out;
}

const LN2 = Math.LN2;
const TABLE_BITS = 12;
const FRACTION_BITS = 23 - TABLE_BITS;
/** ln(1 + i/4096) for i = 0 … 4096: ln of a float's mantissa, read off its bits and interpolated. */
const LN_TABLE = Float64Array.from({ length: (1 << TABLE_BITS) + 1 }, (_, i) => Math.log(1 + i / (1 << TABLE_BITS)));

/**
 * ln(w) of a positive float32 from its bits (w = m·2^e): e·ln 2 + ln m, ln m from the table with
 * linear interpolation: within 1e-8 of Math.log, and 1.5–2.4× faster over 16 million weights
 * (measured here); the logarithm is most of the head finder's time.
 */
function lnOfBits(b: number): number {
  const m = b & 0x7fffff;
  const i = m >>> FRACTION_BITS;
  const f = (m & ((1 << FRACTION_BITS) - 1)) / (1 << FRACTION_BITS);
  return ((b >> 23) - 127) * LN2 + LN_TABLE[i] + (LN_TABLE[i + 1] - LN_TABLE[i]) * f;
}

/** One head's scores, read row by row from the store (a window's rows cover its keys only). */
export function headScores(store: AttentionStore, layer: number, head: number, targets: Int32Array): HeadScores {
  const n = store.tokens;
  let previous = 0;
  let first = 0;
  let self = 0;
  let entropy = 0;
  let distance = 0;
  let induction = 0;
  let repeats = 0;
  for (let q = 0; q < n; q++) {
    const { keyStart, weights } = store.headRow(layer, head, q);
    const len = weights.length;
    const at = (k: number): number => (k >= keyStart && k < keyStart + len ? weights[k - keyStart] : 0);
    if (q >= 1) previous += at(q - 1);
    first += at(0);
    self += at(q);
    if (targets[q] >= 0) {
      induction += at(targets[q]);
      repeats++;
    }
    // Σ w·|q−k| = q·(W before − W after) − (S before − S after), with W = Σ w and S = Σ w·k.
    const split = Math.max(0, Math.min(len, q - keyStart));
    // The same weights read as bits, for the logarithm (normal floats only: subnormals count as 0).
    const bitsOf = new Int32Array(weights.buffer, weights.byteOffset, len);
    let h = 0;
    let wBefore = 0;
    let sBefore = 0;
    let wAfter = 0;
    let sAfter = 0;
    for (let j = 0; j < split; j++) {
      const w = weights[j];
      if (w > 1e-37) {
        h -= w * lnOfBits(bitsOf[j]);
        wBefore += w;
        sBefore += w * j;
      }
    }
    for (let j = split; j < len; j++) {
      const w = weights[j];
      if (w > 1e-37) {
        h -= w * lnOfBits(bitsOf[j]);
        wAfter += w;
        sAfter += w * j;
      }
    }
    const local = q - keyStart;
    entropy += h;
    distance += local * (wBefore - wAfter) - (sBefore - sAfter);
  }
  return {
    previousToken: n > 1 ? previous / (n - 1) : null,
    firstToken: n ? first / n : 0,
    self: n ? self / n : 0,
    entropy: n ? entropy / n : 0,
    meanDistance: n ? distance / n : 0,
    induction: repeats ? induction / repeats : null,
  };
}

/**
 * The heads ordered by one score (the head finder's table, Find Heads…): a missing score (no
 * induction without repeats) counts as the lowest; ties keep layer and head order.
 */
export function rankHeads(rows: readonly HeadScoreRow[], key: keyof HeadScores, descending: boolean): HeadScoreRow[] {
  const value = (r: HeadScoreRow): number => r.scores[key] ?? -Infinity;
  const by = (a: HeadScoreRow, b: HeadScoreRow): number =>
    (descending ? value(b) - value(a) : value(a) - value(b)) || 0;
  return [...rows].sort((a, b) => by(a, b) || a.layer - b.layer || a.head - b.head);
}

/** Every head's scores, layer by layer. `ids`: the analysed tokens' ids (for the induction score). */
export function allHeadScores(store: AttentionStore, ids: readonly number[]): HeadScoreRow[] {
  const steps = headScoreSteps(store, ids);
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/**
 * The same, one head at a time, awaiting `pause` (with the fraction done) whenever the work since
 * the last pause has run `sliceMs`: 144 heads of 1,024 tokens are about a second of arithmetic,
 * which the panel's page spends answering hovers in between.
 */
export async function allHeadScoresSliced(
  store: AttentionStore,
  ids: readonly number[],
  pause: (done: number) => Promise<void>,
  sliceMs = 30,
): Promise<HeadScoreRow[]> {
  const steps = headScoreSteps(store, ids);
  let since = Date.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (Date.now() - since > sliceMs) {
      await pause(r.value);
      since = Date.now();
    }
  }
}

function* headScoreSteps(store: AttentionStore, ids: readonly number[]): Generator<number, HeadScoreRow[], void> {
  const targets = inductionTargets(ids);
  const rows: HeadScoreRow[] = [];
  const total = store.layers * store.heads;
  for (let layer = 0; layer < store.layers; layer++) {
    for (let head = 0; head < store.heads; head++) {
      rows.push({ layer, head, scores: headScores(store, layer, head, targets) });
      yield rows.length / total;
    }
  }
  return rows;
}
