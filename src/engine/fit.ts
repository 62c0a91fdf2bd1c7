import type { TokenInfo } from '../common/protocol';
import type { TextTokenizer } from './tokenizer';
import { addedBySequenceTemplate } from './windows';

export interface FittedText {
  tokens: TokenInfo[];
  /** UTF-16 end of the analysed part of the text (it always starts at 0). */
  analysedEnd: number;
  truncated: boolean;
  /** Why the tokens' places in the text are approximate, or null (see Encoding). */
  offsetsNote: string | null;
}

/**
 * Tokenizes no more of the text than `maxTokens` needs: a 2 MB selection is never tokenized in
 * full. A prefix is tokenized, grown until it gives enough tokens; a token that the cut may have
 * split (the last one of a prefix that is not the whole text) is dropped.
 */
export function fitText(text: string, tokenizer: TextTokenizer, maxTokens: number): FittedText {
  let chars = Math.max(64, maxTokens * 8);
  for (;;) {
    const whole = chars >= text.length;
    const prefix = whole ? text : text.slice(0, cutPoint(text, chars));
    const encoded = tokenizer.encode(prefix);
    let tokens = encoded.tokens;
    // The specials the tokenizer closes a sequence with ([SEP], </s>) close a cut one too.
    let closing = 0;
    const closes = (t: TokenInfo): boolean => addedBySequenceTemplate(t) && t.start === prefix.length;
    while (closing < tokens.length && closes(tokens[tokens.length - 1 - closing])) closing++;
    if (closing === tokens.length) closing = 0;
    const trail = tokens.slice(tokens.length - closing);
    tokens = tokens.slice(0, tokens.length - closing);
    if (!whole) {
      // Drop the last token that covers text: the cut may run through it.
      let last = tokens.length - 1;
      while (last >= 0 && tokens[last].end === tokens[last].start) last--;
      tokens = tokens.slice(0, Math.max(0, last));
    }
    const room = Math.max(1, maxTokens - trail.length);
    if (tokens.length >= room || whole) {
      const kept = tokens.slice(0, room);
      const truncated = !whole || tokens.length > room;
      const analysedEnd = truncated ? Math.max(0, ...kept.map((t) => t.end)) : text.length;
      const closers =
        trail.length < maxTokens ? trail.map((t) => ({ ...t, start: analysedEnd, end: analysedEnd })) : [];
      return { tokens: [...kept, ...closers], analysedEnd, truncated, offsetsNote: encoded.offsetsNote };
    }
    chars *= 2;
  }
}

/** A cut at or before `at` that does not split a surrogate pair. */
function cutPoint(text: string, at: number): number {
  const c = text.charCodeAt(at - 1);
  return c >= 0xd800 && c <= 0xdbff ? at - 1 : at;
}
