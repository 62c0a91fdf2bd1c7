import type { AlignedText } from './aligned-text';
import type { CharSpan } from './offsets';
import type { Replay } from './normalizer-replay';

/** What a token stands for in the normalised text. */
export type TokenPiece =
  /** The bytes it spells (byte-level letters and byte-fallback pieces decoded; '##' removed). */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** An added token (special or not), matched on the original text as the library splits it out. */
  | { kind: 'added'; content: string }
  /** The unknown token: it stands for a word whose text it does not spell. */
  | { kind: 'unknown' };

export interface TracedSpans {
  spans: CharSpan[];
  /** Whether every token's bytes were found in the normalised text where it should be. */
  exact: boolean;
}

const utf8 = new TextEncoder();

/** A section's normalised text as UTF-8, with each byte's character. */
interface SectionBytes {
  text: AlignedText;
  bytes: Uint8Array;
  /** Character index of each byte. */
  charOf: Int32Array;
  /** Byte index where each character starts (one more entry: the end). */
  charStart: Int32Array;
}

function sectionBytes(text: AlignedText): SectionBytes {
  const bytes = utf8.encode(text.text);
  const charOf = new Int32Array(bytes.length);
  const charStart = new Int32Array(text.length + 1);
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const cp = text.chars[i].codePointAt(0) ?? 0;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    charStart[i] = at;
    charOf.fill(i, at, at + len);
    at += len;
  }
  charStart[text.length] = at;
  return { text, bytes, charOf, charStart };
}

function matchesAt(hay: Uint8Array, at: number, needle: Uint8Array): boolean {
  if (at + needle.length > hay.length) return false;
  for (let j = 0; j < needle.length; j++) if (hay[at + j] !== needle[j]) return false;
  return true;
}

/**
 * The original text a byte range of the normalised text came from. A character split across
 * tokens belongs to the token holding its last byte, so a token that ends inside a character
 * covers none of it. Inserted characters ('▁' put in front, spaces around CJK) carry no text.
 */
function originOf(s: SectionBytes, from: number, to: number): CharSpan {
  let start = Infinity;
  let end = -Infinity;
  let place = -1;
  for (let c = from < s.bytes.length ? s.charOf[from] : s.text.length; c < s.text.length; c++) {
    const last = s.charStart[c + 1] - 1;
    if (last >= to) break;
    if (last < from) continue;
    if (place < 0) place = s.text.from[c];
    if (s.text.from[c] === s.text.to[c]) continue;
    start = Math.min(start, s.text.from[c]);
    end = Math.max(end, s.text.to[c]);
  }
  if (start <= end) return { start, end };
  if (place < 0) {
    const c = from < s.bytes.length ? s.charOf[from] : s.text.length;
    place = c < s.text.length ? s.text.from[c] : s.text.length > 0 ? s.text.to[s.text.length - 1] : 0;
  }
  return { start: place, end: place };
}

/** Words as pre-tokenizers cut them: a run of letters, digits and '_', or one other character. */
const WORD = /[\p{L}\p{N}\p{M}_]+|[^\s\p{L}\p{N}\p{M}_\u2581]/gu;

/**
 * Finds every token in the normalised text of its section, in order, and maps it back to the
 * original text. Sections are the text between added tokens, which the library splits out before
 * normalising. Unknown tokens share the words between their known neighbours.
 */
export function traceSpans(text: string, pieces: readonly TokenPiece[], replay: Replay): TracedSpans {
  const spans: CharSpan[] = pieces.map(() => ({ start: 0, end: 0 }));
  let exact = true;
  let cursor = 0;
  let sectionIndex = 0;
  let i = 0;
  while (i < pieces.length) {
    // The tokens up to the next added token found in the text form one section.
    let j = i;
    let anchorAt = -1;
    for (; j < pieces.length; j++) {
      const p = pieces[j];
      if (p.kind !== 'added') continue;
      anchorAt = text.indexOf(p.content, cursor);
      if (anchorAt >= 0) break;
    }
    const sectionEnd = anchorAt >= 0 ? anchorAt : text.length;
    if (j > i || sectionEnd > cursor) {
      const normalized = replay.normalize(text.slice(cursor, sectionEnd), cursor, sectionIndex);
      if (!walkSection(sectionBytes(normalized), pieces, i, j, spans, replay)) exact = false;
      if (sectionEnd > cursor) sectionIndex++;
    }
    if (anchorAt >= 0) {
      const p = pieces[j] as { content: string };
      spans[j] = { start: anchorAt, end: anchorAt + p.content.length };
      cursor = anchorAt + p.content.length;
      sectionIndex++;
      i = j + 1;
    } else {
      cursor = text.length;
      i = j;
    }
  }
  settleOverlaps(spans);
  fillDroppedText(text, spans, pieces);
  return { spans, exact };
}

/** Walks pieces [i, j) over one section; false when some piece was not where it should be. */
function walkSection(
  s: SectionBytes,
  pieces: readonly TokenPiece[],
  i: number,
  j: number,
  spans: CharSpan[],
  replay: Replay,
): boolean {
  let exact = true;
  let pos = 0;
  let pending: number[] = [];
  /** Gives the unknown tokens waiting the words in [pos, upTo). */
  const settlePending = (upTo: number): void => {
    if (pending.length === 0) return;
    const base = pos < s.bytes.length ? s.charOf[pos] : s.text.length;
    const region = s.text.chars.slice(base, upTo < s.bytes.length ? s.charOf[upTo] : s.text.length).join('');
    // Match indices are UTF-16 units of the region; code points are counted on from the last match.
    let unit = 0;
    let point = 0;
    const words = [...region.matchAll(WORD)].map((m) => {
      for (; unit < m.index; point++) unit += (region.codePointAt(unit) ?? 0) > 0xffff ? 2 : 1;
      const first = base + point;
      return { first, last: first + [...m[0]].length - 1 };
    });
    pending.forEach((k, n) => {
      if (n >= words.length) {
        const at = originOf(s, upTo, upTo);
        spans[k] = at;
        return;
      }
      const w = words[n];
      const lastWord = n === pending.length - 1 ? words[words.length - 1] : w;
      spans[k] = originOf(s, s.charStart[w.first], s.charStart[lastWord.last + 1]);
    });
    pending = [];
  };
  const markBytes = replay.marks.map((m) => utf8.encode(m));
  const droppableAt = (b: number): boolean => b < s.bytes.length && replay.droppable(s.text.chars[s.charOf[b]]);
  for (let k = i; k < j; k++) {
    const p = pieces[k];
    if (p.kind === 'unknown') {
      pending.push(k);
      continue;
    }
    let at = pos;
    let bytes = p.kind === 'bytes' ? p.bytes : utf8.encode(p.content);
    // Whitespace a pre-tokenizer dropped (WordPiece), or left after an added token's strip.
    if (!matchesAt(s.bytes, at, bytes) && pending.length === 0) {
      while (droppableAt(at) && !matchesAt(s.bytes, at, bytes)) at = s.charStart[s.charOf[at] + 1];
      // A word's '▁' that Metaspace put in front of it after a whitespace split: it covers nothing.
      if (!matchesAt(s.bytes, at, bytes)) {
        const mark = markBytes.find((m) => bytes.length > m.length && matchesAt(bytes, 0, m));
        if (mark && matchesAt(s.bytes, at, bytes.subarray(mark.length))) bytes = bytes.subarray(mark.length);
      }
    }
    if (!matchesAt(s.bytes, at, bytes)) {
      // Search on: the text in between is the unknown tokens' words, else the walk went wrong.
      let found = -1;
      for (let b = at + 1; b + bytes.length <= s.bytes.length; b++) {
        if (matchesAt(s.bytes, b, bytes)) {
          found = b;
          break;
        }
      }
      if (found < 0 || pending.length === 0) exact = false;
      if (found < 0) {
        settlePending(pos);
        spans[k] = originOf(s, pos, pos);
        continue;
      }
      at = found;
    }
    settlePending(at);
    spans[k] = originOf(s, at, at + bytes.length);
    pos = at + bytes.length;
  }
  settlePending(s.bytes.length);
  return exact;
}

/** A character two tokens claim (a decomposed or expanded one) goes to the later token. */
function settleOverlaps(spans: CharSpan[]): void {
  let prev = -1;
  for (let k = 0; k < spans.length; k++) {
    if (spans[k].end === spans[k].start) continue;
    if (prev >= 0 && spans[k].start < spans[prev].end) {
      spans[prev] = { start: spans[prev].start, end: Math.max(spans[prev].start, spans[k].start) };
    }
    prev = k;
  }
}

/**
 * Characters the normaliser removed (control characters, a lone combining mark) belong to no
 * token; they are given to the token before them (or after, at the start) so that every
 * character of the text is some token's. Whitespace a pre-tokenizer dropped stays outside.
 */
function fillDroppedText(text: string, spans: CharSpan[], pieces: readonly TokenPiece[]): void {
  /** Where the last non-whitespace character of text[from, to) ends, or -1 if there is none. */
  const lastInk = (from: number, to: number): number => {
    for (let k = to; k > from; k--) if (/\S/u.test(text[k - 1])) return k;
    return -1;
  };
  /** Where the first non-whitespace character of text[from, to) starts, or -1. */
  const firstInk = (from: number, to: number): number => {
    for (let k = from; k < to; k++) if (/\S/u.test(text[k])) return k;
    return -1;
  };
  let prev = -1;
  let at = 0;
  for (let k = 0; k < spans.length; k++) {
    const sp = spans[k];
    if (sp.end === sp.start) continue;
    if (sp.start > at && lastInk(at, sp.start) >= 0) {
      if (prev >= 0 && pieces[prev].kind !== 'added')
        spans[prev] = { start: spans[prev].start, end: lastInk(at, sp.start) };
      else if (pieces[k].kind !== 'added') spans[k] = { start: firstInk(at, sp.start), end: sp.end };
    }
    at = spans[k].end;
    prev = k;
  }
  if (prev >= 0 && lastInk(at, text.length) >= 0 && pieces[prev].kind !== 'added')
    spans[prev] = { start: spans[prev].start, end: lastInk(at, text.length) };
}
