/**
 * Surprisal from a run's predictions: how unexpected each token was to the model, and the
 * sequence's mean loss and perplexity. Pure arithmetic for the panel and the host.
 */
import type { PredictionInfo, ShownPrediction } from './protocol';

/** Surprisal at which a token is fully shaded (bits): rarer than 1 in 65,536. */
const FULL_BITS = 16;

/** How strongly a surprisal shades its token, 0..1, in the panel's strip and the editor alike. */
export function surprisalShade(bits: number): number {
  return Math.min(1, Math.max(0, bits / FULL_BITS));
}

/** Each token's surprisal in bits (−log₂ of the probability the model gave it); null for the first token. */
export function tokenSurprisal(predictions: readonly { logprob: number | null }[]): (number | null)[] {
  return predictions.map((_, j) => {
    const lp = j > 0 ? predictions[j - 1].logprob : null;
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

/** Mean loss (nats per predicted token) and perplexity (e^loss) over the tokens that have a prediction. */
export function sequenceLoss(
  predictions: readonly { logprob: number | null }[],
): { loss: number; perplexity: number; count: number } | null {
  const lps = predictions.map((p) => p.logprob).filter((lp): lp is number => lp !== null);
  if (lps.length === 0) return null;
  const loss = -lps.reduce((s, lp) => s + lp, 0) / lps.length;
  return { loss, perplexity: Math.exp(loss), count: lps.length };
}

/**
 * What the host is sent of the predictions, per shown unit: its surprisal, and what the model
 * expected after it (after a word's last token, at word level: `wordOf` maps tokens to words).
 */
export function shownPredictions(
  predictions: readonly PredictionInfo[],
  words?: { wordOf: Int32Array; count: number },
): ShownPrediction[] {
  const perToken = tokenSurprisal(predictions);
  const next = (i: number): ShownPrediction['next'] => predictions[i].top.map(({ text, p }) => ({ text, p }));
  if (!words) return predictions.map((_, i) => ({ bits: perToken[i], next: next(i) }));
  const bits = wordSurprisal(perToken, words.wordOf, words.count);
  const last = new Int32Array(words.count);
  words.wordOf.forEach((w, i) => (last[w] = i));
  return bits.map((b, w) => ({ bits: b, next: next(last[w]) }));
}
