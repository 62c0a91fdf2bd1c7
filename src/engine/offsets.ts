/** A token's place in the analysed text, in UTF-16 code units (what VS Code and JS strings use). */
export interface CharSpan {
  start: number;
  end: number;
}

/**
 * Fallback for when replaying the tokenizer's normalizer does not give back its tokens (see
 * token-spans.ts): find each token's visible text in the original, in order, comparing case- and
 * accent-insensitively.
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
