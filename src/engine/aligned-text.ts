import { commonEnds } from '../common/common-ends';

/**
 * A normalised text that remembers, for each of its characters, which characters of the original
 * text it came from — what Hugging Face's Rust tokenizers call a NormalizedString. The JS tokenizer
 * library gives no offsets, so the tokenizer's normalizer is replayed here on this structure, and
 * a token found in the normalised text is traced back to the editor's text.
 */
export class AlignedText {
  /** One code point per entry. */
  readonly chars: string[];
  /** Per code point: the original UTF-16 range it came from; an inserted one has from = to. */
  readonly from: number[];
  readonly to: number[];

  constructor(chars: string[], from: number[], to: number[]) {
    this.chars = chars;
    this.from = from;
    this.to = to;
  }

  /** `text` as it stands, placed at `offset` in the original. */
  static of(text: string, offset = 0): AlignedText {
    const chars: string[] = [];
    const from: number[] = [];
    const to: number[] = [];
    let at = offset;
    for (const ch of text) {
      chars.push(ch);
      from.push(at);
      at += ch.length;
      to.push(at);
    }
    return new AlignedText(chars, from, to);
  }

  get text(): string {
    return this.chars.join('');
  }

  get length(): number {
    return this.chars.length;
  }

  /**
   * Rewrites the text cluster by cluster: a cluster is a character with the combining marks (and
   * Hangul vowel and final jamo) that follow it, which is the span Unicode normalisation composes
   * within. Every character `f` returns for a cluster comes from the whole cluster.
   */
  mapClusters(f: (cluster: string) => string): AlignedText {
    const out = new Builder();
    let i = 0;
    while (i < this.chars.length) {
      let j = i + 1;
      while (j < this.chars.length && CLUSTER_CONTINUES.test(this.chars[j])) j++;
      if (j === i + 1) {
        // One character alone (most of them): no need to work out which part changed.
        for (const ch of f(this.chars[i])) out.push(ch, this.from[i], this.to[i]);
        i = j;
        continue;
      }
      const input = this.chars.slice(i, j);
      const output = [...f(input.join(''))];
      // What the rewrite left as it was at either end keeps its own origin (a mark NFC could
      // not compose stays the mark's); the rewritten middle comes from the middle of the input.
      const { head, tail } = commonEnds(input, output);
      for (let k = 0; k < head; k++) out.push(output[k], this.from[i + k], this.to[i + k]);
      const a =
        i + head < j - tail
          ? Math.min(...this.from.slice(i + head, j - tail))
          : (this.from[i + head] ?? this.to[j - 1]);
      const b = i + head < j - tail ? Math.max(...this.to.slice(i + head, j - tail)) : a;
      for (let k = head; k < output.length - tail; k++) out.push(output[k], a, b);
      for (let k = 0; k < tail; k++) {
        const from = j - tail + k;
        out.push(output[output.length - tail + k], this.from[from], this.to[from]);
      }
      i = j;
    }
    return out.done();
  }

  /** Rewrites each character on its own (it may become several, or none). */
  mapChars(f: (ch: string) => string): AlignedText {
    const out = new Builder();
    for (let i = 0; i < this.chars.length; i++) {
      for (const ch of f(this.chars[i])) out.push(ch, this.from[i], this.to[i]);
    }
    return out.done();
  }

  /**
   * Lower-cases the whole text at once (Greek final sigma depends on its neighbours), keeping
   * each character's origin; where lower-casing changes the number of characters, per character.
   */
  lowerCase(): AlignedText {
    const whole = [...this.text.toLowerCase()];
    if (whole.length !== this.chars.length) return this.mapChars((c) => c.toLowerCase());
    return new AlignedText(whole, [...this.from], [...this.to]);
  }

  /** Characters `keep` refuses are dropped (their original text then belongs to no character). */
  filter(keep: (ch: string) => boolean): AlignedText {
    const out = new Builder();
    for (let i = 0; i < this.chars.length; i++)
      if (keep(this.chars[i])) out.push(this.chars[i], this.from[i], this.to[i]);
    return out.done();
  }

  /**
   * Every match of `pattern` (a global regular expression) becomes `content`, whose characters
   * come from the whole match; content put in for an empty match is inserted (from = to).
   */
  replace(pattern: RegExp, content: string): AlignedText {
    const text = this.text;
    // UTF-16 index of each code point's start, to turn match indices into code point indices.
    const unitStart: number[] = [];
    let u = 0;
    for (const ch of this.chars) {
      unitStart.push(u);
      u += ch.length;
    }
    unitStart.push(u);
    const indexAt = (unit: number): number => {
      let lo = 0;
      let hi = unitStart.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (unitStart[mid] < unit) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const out = new Builder();
    let i = 0;
    for (const m of text.matchAll(pattern)) {
      const s = indexAt(m.index);
      const e = indexAt(m.index + m[0].length);
      for (; i < s; i++) out.push(this.chars[i], this.from[i], this.to[i]);
      const a = s < e ? Math.min(...this.from.slice(s, e)) : this.placeAt(s);
      const b = s < e ? Math.max(...this.to.slice(s, e)) : a;
      for (const ch of content) out.push(ch, a, b);
      i = e;
    }
    for (; i < this.chars.length; i++) out.push(this.chars[i], this.from[i], this.to[i]);
    return out.done();
  }

  /** `content` inserted before the first character (nothing for an empty text). */
  prepend(content: string): AlignedText {
    if (this.chars.length === 0) return this;
    const out = new Builder();
    for (const ch of content) out.push(ch, this.from[0], this.from[0]);
    for (let i = 0; i < this.chars.length; i++) out.push(this.chars[i], this.from[i], this.to[i]);
    return out.done();
  }

  /** Inserts `content` before and after every character `around` accepts. */
  padAround(around: (ch: string) => boolean, content: string): AlignedText {
    const out = new Builder();
    for (let i = 0; i < this.chars.length; i++) {
      const pad = around(this.chars[i]);
      if (pad) for (const ch of content) out.push(ch, this.from[i], this.from[i]);
      out.push(this.chars[i], this.from[i], this.to[i]);
      if (pad) for (const ch of content) out.push(ch, this.to[i], this.to[i]);
    }
    return out.done();
  }

  /** Whitespace removed from the start and/or the end. */
  trim(start: boolean, end: boolean): AlignedText {
    let a = 0;
    let b = this.chars.length;
    if (start) while (a < b && /\s/u.test(this.chars[a])) a++;
    if (end) while (b > a && /\s/u.test(this.chars[b - 1])) b--;
    return new AlignedText(this.chars.slice(a, b), this.from.slice(a, b), this.to.slice(a, b));
  }

  private placeAt(index: number): number {
    if (index < this.from.length) return this.from[index];
    return this.to.length > 0 ? this.to[this.to.length - 1] : 0;
  }
}

/** Combining marks, and the Hangul jamo that compose with the syllable before them. */
const CLUSTER_CONTINUES = /^[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]$/u;

class Builder {
  private readonly chars: string[] = [];
  private readonly from: number[] = [];
  private readonly to: number[] = [];

  push(ch: string, from: number, to: number): void {
    this.chars.push(ch);
    this.from.push(from);
    this.to.push(to);
  }

  done(): AlignedText {
    return new AlignedText(this.chars, this.from, this.to);
  }
}
