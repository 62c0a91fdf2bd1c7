import { AttentionStore, windowIndices, type AttentionWindow } from './attention-store';
import type { TokenInfo } from './protocol';

/**
 * Word level: sub-word tokens merged into the words they spell, and the attention merged with
 * them — summed over a word's tokens as keys (the attention the word receives), averaged over its
 * tokens as queries (each row still sums to 1). Pure, for the panel and the tests.
 */

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/**
 * For each token, the index of the word it belongs to. A token continues the word before it when
 * neither is special, it starts where that one ends in the text, it does not start with
 * whitespace, and the two meet between word characters (letters, digits, _) — or the one before
 * covers no whole character (the first bytes of a character split across tokens).
 */
export function wordOf(tokens: readonly TokenInfo[]): Int32Array {
  const out = new Int32Array(tokens.length);
  let word = -1;
  tokens.forEach((t, i) => {
    const prev = tokens[i - 1];
    // A token that covers no whole character begins the character the next covering token holds.
    const first = partial(t) ? (tokens.slice(i + 1).find((x) => !partial(x))?.text ?? '').charAt(0) : t.text.charAt(0);
    const joins =
      prev !== undefined &&
      !t.special &&
      !prev.special &&
      t.start === prev.end &&
      !/\s/.test(first) &&
      (partial(prev) || (WORD_CHAR.test(prev.text.slice(-1)) && WORD_CHAR.test(first)));
    if (!joins) word++;
    out[i] = word;
  });
  return out;
}

/** The first bytes of a character split across tokens: no whole character, shown as its bytes. */
const partial = (t: TokenInfo): boolean => !t.special && t.end === t.start;

/**
 * The words as tokens: their tokens' text joined, the span from the first to the last. The bytes
 * of a split character are left out where the token holding the character is in the word.
 */
export function wordTokens(tokens: readonly TokenInfo[], words: Int32Array): TokenInfo[] {
  const out: TokenInfo[] = [];
  tokens.forEach((t, i) => {
    const w = out[words[i]];
    if (!w) out.push({ ...t, text: partial(t) ? '' : t.text });
    else {
      if (!partial(t)) w.text += t.text;
      w.end = Math.max(w.end, t.end);
    }
  });
  // A word of bytes alone (a character cut off at the end of the text) keeps them as its text.
  out.forEach((w, i) => {
    if (w.text === '')
      w.text = tokens
        .filter((_, j) => words[j] === i)
        .map((t) => t.text)
        .join('');
  });
  return out;
}

/** Ids for the head finder's induction score at word level: the same word text, the same id. */
export function textIds(tokens: readonly TokenInfo[]): number[] {
  const seen = new Map<string, number>();
  return tokens.map((t) => {
    let id = seen.get(t.text);
    if (id === undefined) seen.set(t.text, (id = seen.size));
    return id;
  });
}

/** One window's attention at word level: `words` maps each sequence token to its word. */
function wordWindow(w: AttentionWindow, words: Int32Array, heads: number): AttentionWindow {
  const tokens = windowIndices(w);
  const t = tokens.length;
  const lead = [...new Set((w.lead ?? []).map((i) => words[i]))];
  const trail = [...new Set((w.trail ?? []).map((i) => words[i]))];
  const first = words[w.start];
  const last = words[w.start + w.length - 1];
  const order = [...lead, ...Array.from({ length: last - first + 1 }, (_, i) => first + i), ...trail];
  const position = new Map(order.map((word, i) => [word, i]));
  const local = Int32Array.from(tokens, (i) => position.get(words[i])!);
  const n = order.length;
  const count = new Float32Array(n);
  for (const j of local) count[j]++;
  const layers = w.layers.map((a) => {
    const out = new Float32Array(heads * n * n);
    for (let h = 0; h < heads; h++)
      for (let q = 0; q < t; q++) {
        const row = a.subarray((h * t + q) * t, (h * t + q + 1) * t);
        const base = (h * n + local[q]) * n;
        for (let k = 0; k < t; k++) out[base + local[k]] += row[k];
      }
    for (let h = 0; h < heads; h++)
      for (let q = 0; q < n; q++) {
        const base = (h * n + q) * n;
        for (let k = 0; k < n; k++) out[base + k] /= count[q];
      }
    return out;
  });
  return { start: first, length: last - first + 1, layers, lead, trail };
}

/** The attention of a token-level store at word level. */
export function wordStore(store: AttentionStore, words: Int32Array): AttentionStore {
  return new AttentionStore(
    store.windows.map((w) => wordWindow(w, words, store.heads)),
    store.layers,
    store.heads,
  );
}
