/**
 * Surprisal from a run's predictions: how unexpected each token was to the model, and the
 * sequence's mean loss and perplexity. Pure arithmetic for the panel and the host.
 */
import type { PredictionInfo, PredictionKind, ShownPrediction } from './protocol';

/** Surprisal at which a token is fully shaded (bits): rarer than 1 in 65,536. */
const FULL_BITS = 16;

/** How strongly a surprisal shades its token, 0..1, in the panel's strip and the editor alike. */
export function surprisalShade(bits: number): number {
  return Math.min(1, Math.max(0, bits / FULL_BITS));
}

/**
 * The row of the predictions that predicted token `j`: a causal model predicts it at the token
 * before (none for the first, −1), a masked model at the token itself, masked.
 */
export function predictedAt(kind: PredictionKind, j: number): number {
  return kind === 'masked' ? j : j - 1;
}

/**
 * Each token's surprisal in bits (−log₂ of the probability the model gave it); null where nothing
 * predicted it (a causal model's first token, a masked model's specials).
 */
export function tokenSurprisal(
  predictions: readonly { logprob: number | null }[],
  kind: PredictionKind = 'next-token',
): (number | null)[] {
  return predictions.map((_, j) => {
    const lp = predictions[predictedAt(kind, j)]?.logprob ?? null;
    return lp === null ? null : -lp / Math.LN2;
  });
}

/** A word's surprisal: the sum over its tokens (the chain rule); null when none of its tokens has one. */
export function wordSurprisal(
  perToken: readonly (number | null)[],
  wordOf: Int32Array,
  words: number,
): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(words).fill(null);
  perToken.forEach((s, i) => {
    if (s !== null) out[wordOf[i]] = (out[wordOf[i]] ?? 0) + s;
  });
  return out;
}

/**
 * Mean loss (nats per predicted token) and perplexity (e^loss) over the tokens that have a
 * prediction (for a masked model: the pseudo-log-likelihood's, each token masked in turn).
 */
export function sequenceLoss(
  predictions: readonly { logprob: number | null }[],
): { loss: number; perplexity: number; count: number } | null {
  const lps = predictions.map((p) => p.logprob).filter((lp): lp is number => lp !== null);
  if (lps.length === 0) return null;
  const loss = -lps.reduce((s, lp) => s + lp, 0) / lps.length;
  return { loss, perplexity: Math.exp(loss), count: lps.length };
}

/** A perplexity as the panel writes it: one decimal, or 3 significant digits with an exponent past 100,000. */
export function formatPerplexity(p: number): string {
  return p < 1e5 ? p.toFixed(1) : p.toExponential(2);
}

/**
 * What the host is sent of the predictions, per shown unit: its surprisal, what the model expected
 * in its place (at a word's first token, at word level: `wordOf` maps tokens to words), and, for a
 * causal model, what it expected after it (after a word's last token).
 */
export function shownPredictions(
  predictions: readonly PredictionInfo[],
  words?: { wordOf: Int32Array; count: number },
  kind: PredictionKind = 'next-token',
): ShownPrediction[] {
  const perToken = tokenSurprisal(predictions, kind);
  const top = (row: number): ShownPrediction['next'] =>
    (predictions[row]?.top ?? []).map(({ text, p }) => ({ text, p }));
  const unit = (bits: number | null, first: number, last: number): ShownPrediction => ({
    bits,
    expected: top(predictedAt(kind, first)),
    next: kind === 'masked' ? [] : top(last),
  });
  if (!words) return predictions.map((_, i) => unit(perToken[i], i, i));
  const bits = wordSurprisal(perToken, words.wordOf, words.count);
  const first = new Int32Array(words.count).fill(-1);
  const last = new Int32Array(words.count);
  words.wordOf.forEach((w, i) => {
    if (first[w] < 0) first[w] = i;
    last[w] = i;
  });
  return bits.map((b, w) => unit(b, first[w], last[w]));
}
