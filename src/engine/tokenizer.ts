import { Tokenizer } from '@huggingface/tokenizers';
import { byteLevelTokenToBytes } from './byte-level';
import { alignedSpans, byteLevelSpans, type CharSpan } from './offsets';
import type { TokenInfo } from '../common/protocol';

/** The parts of a Hugging Face `tokenizer.json` this module reads itself. */
interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  pre_tokenizer?: { type?: string; pretokenizers?: { type?: string }[] } | null;
  decoder?: { type?: string; decoders?: { type?: string }[] } | null;
  model?: { type?: string; max_length?: number; continuing_subword_prefix?: string | null } | null;
  truncation?: { max_length?: number } | null;
}

export interface TextTokenizer {
  /** Whether tokens spell bytes (GPT-2 style), which gives exact offsets without alignment. */
  readonly byteLevel: boolean;
  encode(text: string): TokenInfo[];
  /** Token text for ids given without text (the CLI's --ids). */
  idToText(id: number): string;
}

function mentions(part: TokenizerJson['pre_tokenizer'] | TokenizerJson['decoder'], type: string): boolean {
  if (!part) return false;
  if (part.type === type) return true;
  const list = 'pretokenizers' in part ? part.pretokenizers : 'decoders' in part ? part.decoders : undefined;
  return Array.isArray(list) && list.some((p) => p.type === type);
}

/** Whether `needle` occurs in `hay` as a contiguous run; returns where, or -1. */
function indexOfRun(hay: readonly number[], needle: readonly number[]): number {
  if (needle.length === 0) return 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function parseTokenizerJson(jsonText: string): TokenizerJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText);
  } catch (e) {
    throw new Error(`tokenizer.json is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || !('model' in parsed)) {
    throw new Error('tokenizer.json has no "model" section: is this a Hugging Face tokenizer file?');
  }
  return parsed as TokenizerJson;
}

export function loadTokenizer(jsonText: string, configJsonText?: string): TextTokenizer {
  const json = parseTokenizerJson(jsonText);
  const config: object = configJsonText ? (JSON.parse(configJsonText) as object) : {};
  const tok = new Tokenizer(json, config);
  const special = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
  const byteLevel = mentions(json.pre_tokenizer, 'ByteLevel') || mentions(json.decoder, 'ByteLevel');

  const idToText = (id: number): string => {
    const piece = tok.id_to_token(id);
    if (piece === undefined) return `<${id}>`;
    if (special.has(id)) return piece;
    return tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  };

  /**
   * What a token that covers no whole character shows: its bytes in hex for a byte-level piece
   * of a split character (decoding it alone would give only U+FFFD), else its vocabulary text.
   */
  const emptySpanText = (id: number, isSpecial: boolean): string => {
    const piece = tok.id_to_token(id);
    if (!isSpecial && byteLevel && piece !== undefined) {
      const bytes = byteLevelTokenToBytes(piece);
      if (bytes && bytes.length > 0)
        return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
    }
    return idToText(id);
  };

  /** A vocabulary piece as it appears in the text: no '##' continuation mark, '▁' as a space. */
  const prefix = json.model?.continuing_subword_prefix;
  const visiblePiece = (piece: string): string => {
    const bare = prefix && piece.startsWith(prefix) ? piece.slice(prefix.length) : piece;
    return /^<0x[0-9A-F]{2}>$/.test(bare) ? '' : bare.replace(/▁/g, ' ');
  };

  const encode = (text: string): TokenInfo[] => {
    // Offsets come from the text's own tokens; special tokens the post-processor adds around
    // them ([CLS], [SEP], <s>) are located afterwards and get empty spans at the edges.
    const core = tok.encode(text, { add_special_tokens: false });
    const full = tok.encode(text, { add_special_tokens: true });
    let spans: CharSpan[] | undefined = byteLevel
      ? byteLevelSpans(text, core.tokens, (i) => special.has(core.ids[i]))
      : undefined;
    if (!spans)
      spans = alignedSpans(
        text,
        core.tokens.map((piece, i) => (special.has(core.ids[i]) ? '' : visiblePiece(piece))),
      );
    const at = indexOfRun(full.ids, core.ids);
    const ids = at < 0 ? core.ids : full.ids;
    const coreStart = at < 0 ? 0 : at;
    const tokens: TokenInfo[] = [];
    for (let i = 0; i < ids.length; i++) {
      const c = i - coreStart;
      const inCore = c >= 0 && c < core.ids.length;
      const span = inCore ? spans[c] : c < 0 ? { start: 0, end: 0 } : { start: text.length, end: text.length };
      const isSpecial = special.has(ids[i]);
      const shown = span.end > span.start ? text.slice(span.start, span.end) : emptySpanText(ids[i], isSpecial);
      tokens.push({ id: ids[i], text: shown, start: span.start, end: span.end, special: isSpecial });
    }
    return tokens;
  };

  return { byteLevel, encode, idToText };
}
