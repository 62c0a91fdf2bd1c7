import { AlignedText } from './aligned-text';

/**
 * Replays what a tokenizer.json's normalizer and pre-tokenizer do to the text, on an AlignedText,
 * so that tokens (which spell the normalised text) can be traced back to the original characters.
 * Each step mirrors @huggingface/tokenizers' own implementation of that step; the caller checks
 * the result against the tokens themselves, so a step that drifts is caught, not trusted.
 */

interface Part {
  type?: string;
  [key: string]: unknown;
}

/** The parts of tokenizer_config.json the tokenizer library applies before its normalizer. */
export interface ReplayConfig {
  remove_space?: boolean;
  do_lowercase_and_remove_accent?: boolean;
}

export interface Replay {
  /**
   * The normalised text of one section (the text between added tokens) found at `offset` in the
   * original; `index` is its place among the sections.
   */
  normalize(section: string, offset: number, index: number): AlignedText;
  /** Normalizer or pre-tokenizer types this replay does not know (offsets are then approximate). */
  readonly unknown: readonly string[];
  /** Characters a pre-tokenizer may drop between tokens (whitespace, and Metaspace's '▁'). */
  droppable(ch: string): boolean;
  /**
   * Metaspace's mark ('▁'), which it puts in front of every word when a pre-tokenizer before it
   * split the text on whitespace: a token may begin with one that stands for no character.
   */
  readonly marks: readonly string[];
}

type Step = (t: AlignedText, sectionIndex: number) => AlignedText;

const CONTROL = /^(?:\p{Cc}|\p{Cf}|\p{Co}|\p{Cs})$/u;

/** The library's is_chinese_char: CJK ideograph blocks (it pads them with spaces). */
function isChineseChar(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  // The library walks UTF-16 units, so ideographs beyond the BMP are never padded.
  if (cp > 0xffff) return false;
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A Replace/Split pattern as a global regular expression, or undefined if it cannot be read. */
function patternOf(p: unknown): RegExp | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as { String?: unknown; Regex?: unknown };
  try {
    if (typeof o.String === 'string') return new RegExp(escapeRegExp(o.String), 'gu');
    if (typeof o.Regex === 'string') return new RegExp(o.Regex, 'gu');
  } catch {
    return undefined;
  }
  return undefined;
}

const stripAccents = (t: AlignedText): AlignedText =>
  t.mapClusters((c) => c.normalize('NFD')).filter((ch) => !/^\p{Mn}$/u.test(ch));
/** The library's remove_accents: every combining mark (\p{M}) dropped, without decomposing first. */
const removeMarks = (t: AlignedText): AlignedText => t.filter((ch) => !/^\p{M}$/u.test(ch));

function normalizerSteps(n: Part | null | undefined, unknown: string[]): Step[] {
  if (!n) return [];
  const str = (k: string): string => (typeof n[k] === 'string' ? (n[k] as string) : '');
  switch (n.type) {
    case 'Sequence':
      return (Array.isArray(n.normalizers) ? (n.normalizers as Part[]) : []).flatMap((x) =>
        normalizerSteps(x, unknown),
      );
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = n.type;
      return [(t) => t.mapClusters((c) => c.normalize(form))];
    }
    case 'Lowercase':
      return [(t) => t.lowerCase()];
    case 'StripAccents':
      return [removeMarks];
    case 'Prepend':
      return [(t) => t.prepend(str('prepend'))];
    case 'Strip':
      return [(t) => t.trim(n.strip_left === true, n.strip_right === true)];
    case 'Replace': {
      const re = patternOf(n.pattern);
      if (!re) {
        unknown.push('Replace (a pattern this replay cannot read)');
        return [];
      }
      return [(t) => t.replace(re, str('content'))];
    }
    case 'BertNormalizer': {
      const steps: Step[] = [];
      if (n.clean_text)
        steps.push((t) =>
          t
            .filter(
              (ch) =>
                ch !== '\0' && ch !== '\ufffd' && (ch === '\t' || ch === '\n' || ch === '\r' || !CONTROL.test(ch)),
            )
            .mapChars((ch) => (/^\s$/u.test(ch) ? ' ' : ch)),
        );
      if (n.handle_chinese_chars) steps.push((t) => t.padAround(isChineseChar, ' '));
      if (n.lowercase) {
        steps.push((t) => t.lowerCase());
        if (n.strip_accents !== false) steps.push(stripAccents);
      } else if (n.strip_accents) steps.push(stripAccents);
      return steps;
    }
    case 'Precompiled':
      // The library stands in for SentencePiece's character map with these three rules.
      return [
        (t) =>
          t
            .filter((ch) => !/^[\u0001-\u0008\u000B\u000E-\u001F\u007F\u008F\u009F]$/u.test(ch))
            .mapChars((ch) =>
              /^[\u0009\u000A\u000C\u000D\u00A0\u1680\u2000-\u200F\u2028\u2029\u202F\u205F\u2581\u3000\uFEFF\uFFFD]$/u.test(
                ch,
              )
                ? ' '
                : ch,
            )
            .mapClusters((c) =>
              c
                .split('\uFF5E')
                .map((p) => p.normalize('NFKC'))
                .join('\uFF5E'),
            ),
      ];
    default:
      unknown.push(`normalizer ${n.type ?? '(no type)'}`);
      return [];
  }
}

/** The pre-tokenizer's changes to the text (splitting leaves it as it is, or drops whitespace). */
function preTokenizerSteps(p: Part | null | undefined, marks: Set<string>): Step[] {
  if (!p) return [];
  switch (p.type) {
    case 'Sequence':
      return (Array.isArray(p.pretokenizers) ? (p.pretokenizers as Part[]) : []).flatMap((x) =>
        preTokenizerSteps(x, marks),
      );
    case 'Replace': {
      const re = patternOf(p.pattern);
      const content = typeof p.content === 'string' ? p.content : '';
      return re ? [(t) => t.replace(re, content)] : [];
    }
    case 'ByteLevel':
      return p.add_prefix_space === true ? [(t) => (t.text.startsWith(' ') ? t : t.prepend(' '))] : [];
    case 'Metaspace': {
      const replacement = typeof p.replacement === 'string' ? p.replacement : '\u2581';
      const rep = typeof p.str_rep === 'string' && p.str_rep ? p.str_rep : replacement;
      const scheme = typeof p.prepend_scheme === 'string' ? p.prepend_scheme : 'always';
      marks.add(replacement);
      return [
        (t, index) => {
          const replaced = t.replace(/ /gu, rep);
          const prepend = scheme === 'always' || (scheme === 'first' && index === 0);
          return prepend && !replaced.text.startsWith(replacement) ? replaced.prepend(rep) : replaced;
        },
      ];
    }
    default:
      return [];
  }
}

export function replayOf(
  normalizer: Part | null | undefined,
  preTokenizer: Part | null | undefined,
  config: ReplayConfig = {},
): Replay {
  const unknown: string[] = [];
  // Metaspace's mark, and '▁' that a normalizer wrote for spaces (Llama, Gemma), stand for spaces.
  const marks = new Set<string>(['\u2581']);
  const steps: Step[] = [];
  if (config.remove_space === true) steps.push((t) => t.trim(true, true).replace(/\s+/gu, ' '));
  if (config.do_lowercase_and_remove_accent === true) steps.push((t) => removeMarks(t.lowerCase()));
  steps.push(...normalizerSteps(normalizer, unknown));
  steps.push(...preTokenizerSteps(preTokenizer, marks));
  return {
    normalize: (section, offset, index) => steps.reduce((t, step) => step(t, index), AlignedText.of(section, offset)),
    unknown,
    droppable: (ch) => /^\s$/u.test(ch) || marks.has(ch),
    marks: [...marks],
  };
}
