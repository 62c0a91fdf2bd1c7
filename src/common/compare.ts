/**
 * Two results of the same tokenizer side by side: which tokens they share (an edit between them
 * inserts, deletes or changes a few), and how far each head's attention moved over those tokens.
 * Pure, for the panel and the tests.
 */
import type { AttentionStore } from './attention-store';
import { commonEnds } from './common-ends';
import type { HeadChoice } from './protocol';

/** Largest middle part (tokens × tokens) aligned by longest common subsequence; beyond it only the ends match. */
const LCS_CELLS = 4_000_000;

/**
 * Pairs [before, now] of tokens the two id sequences share, in order: their common start and end,
 * and between them the longest common subsequence (what an edit left in place).
 */
export function alignTokens(before: readonly number[], now: readonly number[]): [number, number][] {
  const { head: start, tail: end } = commonEnds(before, now);
  const pairs: [number, number][] = Array.from({ length: start }, (_, i) => [i, i]);
  const a = before.slice(start, before.length - end);
  const b = now.slice(start, now.length - end);
  if (a.length && b.length && a.length * b.length <= LCS_CELLS) {
    // lengths[i][j]: the LCS of a[i..] and b[j..], kept in one array.
    const w = b.length + 1;
    const lengths = new Int32Array((a.length + 1) * w);
    for (let i = a.length - 1; i >= 0; i--)
      for (let j = b.length - 1; j >= 0; j--)
        lengths[i * w + j] =
          a[i] === b[j] ? lengths[(i + 1) * w + j + 1] + 1 : Math.max(lengths[(i + 1) * w + j], lengths[i * w + j + 1]);
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] === b[j]) {
        pairs.push([start + i, start + j]);
        i++;
        j++;
      } else if (lengths[(i + 1) * w + j] >= lengths[i * w + j + 1]) i++;
      else j++;
    }
  }
  for (let k = end; k > 0; k--) pairs.push([before.length - k, now.length - k]);
  return pairs;
}

/**
 * How far one head's attention moved between the results, over the shared tokens: for each shared
 * query, the total variation (0–1) between its two rows restricted to the shared keys (each
 * renormalised: attention to inserted or deleted tokens is left out), averaged over the queries.
 */
export function headDifference(
  before: AttentionStore,
  now: AttentionStore,
  pairs: readonly [number, number][],
  layer: number,
  head: HeadChoice,
): number {
  if (pairs.length === 0) return 0;
  let total = 0;
  let rows = 0;
  eachPairedRow(before, now, pairs, layer, head, (_, a, b) => {
    let sa = 0;
    let sb = 0;
    for (let k = 0; k < pairs.length; k++) {
      sa += a[k];
      sb += b[k];
    }
    // A row with nothing on the shared keys (a causal row that sees only inserted tokens) says nothing.
    if (sa <= 0 || sb <= 0) return;
    let tv = 0;
    for (let k = 0; k < pairs.length; k++) tv += Math.abs(a[k] / sa - b[k] / sb);
    total += tv / 2;
    rows++;
  });
  return rows ? total / rows : 0;
}

/**
 * Each shared query's two rows (before, now) on the shared keys: `a[k]` and `b[k]` are the weights
 * on the k-th pair's keys (arrays reused from one query to the next).
 */
function eachPairedRow(
  before: AttentionStore,
  now: AttentionStore,
  pairs: readonly [number, number][],
  layer: number,
  head: HeadChoice,
  visit: (i: number, a: Float32Array, b: Float32Array) => void,
): void {
  const a = new Float32Array(pairs.length);
  const b = new Float32Array(pairs.length);
  pairs.forEach(([qa, qb], i) => {
    const rowA = before.denseRow(layer, head, qa);
    const rowB = now.denseRow(layer, head, qb);
    pairs.forEach(([ka, kb], k) => {
      a[k] = rowA[ka];
      b[k] = rowB[kb];
    });
    visit(i, a, b);
  });
}

/** Every head's difference, [layer × heads + head]; the two results must have the same layers and heads. */
export function headDifferences(
  before: AttentionStore,
  now: AttentionStore,
  pairs: readonly [number, number][],
): Float64Array {
  const out = new Float64Array(now.layers * now.heads);
  for (let l = 0; l < now.layers; l++)
    for (let h = 0; h < now.heads; h++) out[l * now.heads + h] = headDifference(before, now, pairs, l, h);
  return out;
}

/** Why two results cannot be compared head by head, or null when they can. */
export function compareRefusal(
  before: { layers: number; heads: number; tokenizer: string; model: string },
  now: { layers: number; heads: number; tokenizer: string; model: string },
): string | null {
  if (before.tokenizer !== now.tokenizer)
    return `the two results come from different tokenizers (${before.model} and ${now.model}): their tokens do not correspond, so their attention cannot be compared token by token`;
  if (before.layers !== now.layers || before.heads !== now.heads)
    return `the two models have different shapes (${before.layers} layers × ${before.heads} heads, and ${now.layers} × ${now.heads}): there is no head-by-head correspondence`;
  return null;
}

/** The shared tokens' attention for one head, before and now, and now − before ([P × P], query-major). */
export function pairedMatrices(
  before: AttentionStore,
  now: AttentionStore,
  pairs: readonly [number, number][],
  layer: number,
  head: HeadChoice,
): { before: Float32Array; now: Float32Array; difference: Float32Array } {
  const p = pairs.length;
  const out = { before: new Float32Array(p * p), now: new Float32Array(p * p), difference: new Float32Array(p * p) };
  eachPairedRow(before, now, pairs, layer, head, (i, a, b) => {
    out.before.set(a, i * p);
    out.now.set(b, i * p);
    for (let k = 0; k < p; k++) out.difference[i * p + k] = b[k] - a[k];
  });
  return out;
}
