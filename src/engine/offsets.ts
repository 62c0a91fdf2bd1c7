import { byteLevelTokenToBytes } from './byte-level';

/** A token's place in the analysed text, in UTF-16 code units (what VS Code and JS strings use). */
export interface CharSpan {
  start: number;
  end: number;
}

const utf8 = new TextEncoder();

/**
 * For each UTF-8 byte boundary of `text`, the UTF-16 offset of the last whole character that
 * ends at or before it. `floor[b]` answers "how many UTF-16 units lie in the first b bytes,
 * counting only complete characters".
 */
function byteFloorToUtf16(text: string): Int32Array {
  const totalBytes = utf8.encode(text).length;
  const floor = new Int32Array(totalBytes + 1);
  let byte = 0;
  let unit = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let i = 1; i < len; i++) floor[byte + i] = unit; // inside the character: not yet complete
    byte += len;
    unit += ch.length;
    floor[byte] = unit;
  }
  return floor;
}

/**
 * Maps tokens, given as the byte lengths they cover in order, onto UTF-16 spans of `text`.
 * A character split across tokens belongs to the token holding its last byte, so a token that
 * ends inside a character gives it to the one that completes it and may cover zero characters
 * (it keeps its place with an empty span). Returns undefined when the bytes do not add up to
 * the text, which means the tokenizer changed the text and the spans must be aligned instead.
 */
export function spansFromByteLengths(text: string, byteLengths: readonly number[]): CharSpan[] | undefined {
  const floor = byteFloorToUtf16(text);
  const total = floor.length - 1;
  const spans: CharSpan[] = [];
  let at = 0;
  for (const len of byteLengths) {
    const end = at + len;
    if (end > total) return undefined;
    spans.push({ start: floor[at], end: floor[end] });
    at = end;
  }
  return at === total ? spans : undefined;
}

/**
 * Byte-level BPE (GPT-2, RoBERTa, Llama 3, the bundled model): each token string spells its
 * bytes in the byte-level alphabet; special tokens spell their content literally.
 */
export function byteLevelSpans(
  text: string,
  tokens: readonly string[],
  isSpecial: (index: number) => boolean,
): CharSpan[] | undefined {
  const lengths: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    const bytes = isSpecial(i) ? utf8.encode(tok) : byteLevelTokenToBytes(tok);
    if (bytes === undefined) return undefined;
    lengths.push(bytes.length);
  }
  return spansFromByteLengths(text, lengths);
}

/**
 * Fallback for tokenizers that normalise the text (lower-casing, accents, Metaspace '▁'): find
 * each token's visible text in the original, in order, comparing case- and accent-insensitively.
 * A token that cannot be found (a special token, an unknown piece) keeps an empty span at the
 * current position.
 */
export function alignedSpans(text: string, pieces: readonly string[]): CharSpan[] {
  const fold = (s: string): string =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();
  // Fold per UTF-16 unit so positions stay those of the original text.
  const folded: string[] = [];
  for (let i = 0; i < text.length; i++) folded.push(fold(text[i]));
  const spans: CharSpan[] = [];
  let at = 0;
  /** Pieces with no text of their own ([UNK]) since the last aligned one: each stands for a word. */
  let blanks = 0;
  for (const raw of pieces) {
    const piece = fold(raw).replace(/\s+/g, '');
    if (piece.length === 0) {
      spans.push({ start: at, end: at });
      blanks++;
      continue;
    }
    let found = -1;
    let end = -1;
    for (let s = at; s < text.length && found < 0; s++) {
      let j = 0;
      let k = s;
      while (k < text.length && j < piece.length) {
        const f = folded[k];
        if (f.length === 0) {
          k++;
          continue;
        }
        if (piece.startsWith(f, j)) {
          j += f.length;
          k++;
        } else break;
      }
      if (j === piece.length) {
        found = s;
        end = k;
      }
      // Tokens follow each other, separated by whitespace (any amount) or by a few characters the
      // tokenizer drops: give up at a non-space character more than 16 characters ahead, and
      // 64 more for each [UNK] before this piece (the words they stand for lie in between).
      if (found < 0 && s - at > 16 + 64 * blanks && /\S/.test(text[s])) break;
    }
    if (found < 0) {
      spans.push({ start: at, end: at });
    } else {
      spans.push({ start: found, end });
      at = end;
      blanks = 0;
    }
  }
  claimGaps(text, pieces, spans);
  return spans;
}

/**
 * Pieces with no text of their own ([UNK], or a special token written in the text) stand for what
 * lies between their aligned neighbours: a run of them shares that text word by word (a word
 * being a run of letters and digits, or one punctuation mark, as BERT's pre-tokenizer cuts; the
 * last one takes what is left), so that hovering the word in the editor finds its token.
 */
function claimGaps(text: string, pieces: readonly string[], spans: CharSpan[]): void {
  const blank = (i: number): boolean => spans[i].end === spans[i].start && pieces[i].trim() === '';
  for (let i = 0; i < spans.length; i++) {
    if (!blank(i)) continue;
    let last = i;
    while (last + 1 < spans.length && blank(last + 1)) last++;
    let prev = i - 1;
    while (prev >= 0 && spans[prev].end === spans[prev].start) prev--;
    let next = last + 1;
    while (next < spans.length && spans[next].end === spans[next].start) next++;
    const from = prev >= 0 ? spans[prev].end : 0;
    const to = next < spans.length ? spans[next].start : text.length;
    // Words as pre-tokenizers cut them: a run of letters, digits and '_', or one other character.
    const words = [...text.slice(from, to).matchAll(/[\p{L}\p{N}\p{M}_]+|[^\s\p{L}\p{N}\p{M}_]/gu)].map((m) => ({
      start: from + (m.index ?? 0),
      end: from + (m.index ?? 0) + m[0].length,
    }));
    for (let j = i; j <= last && j - i < words.length; j++) {
      const w = words[j - i];
      spans[j] = { start: w.start, end: j === last ? words[words.length - 1].end : w.end };
    }
    i = last;
  }
}
