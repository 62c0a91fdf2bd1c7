import { Tokenizer } from '@huggingface/tokenizers';
import { byteLevelTokenToBytes } from './byte-level';
import { replayOf, type ReplayConfig } from './normalizer-replay';
import { alignedSpans, type CharSpan } from './offsets';
import { traceSpans, type TokenPiece } from './token-spans';
import type { TokenInfo } from '../common/protocol';

/** A byte-fallback piece (`<0xE6>`): one byte of a character the vocabulary lacks. */
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/** The parts of a Hugging Face `tokenizer.json` this module reads itself. */
interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: { type?: string; [key: string]: unknown } | null;
  pre_tokenizer?: { type?: string; pretokenizers?: { type?: string }[]; [key: string]: unknown } | null;
  decoder?: { type?: string; decoders?: { type?: string }[] } | null;
  model?: {
    type?: string;
    max_length?: number;
    continuing_subword_prefix?: string | null;
    end_of_word_suffix?: string | null;
    byte_fallback?: boolean;
    unk_token?: string | null;
    unk_id?: number | null;
  } | null;
  truncation?: { max_length?: number } | null;
}

/** A text's tokens, and whether their places in the text are exact. */
export interface Encoding {
  tokens: TokenInfo[];
  /**
   * Why the tokens' places are approximate, or null when they are exact. They are approximate
   * when the tokenizer has a normalizer this module cannot replay, or when replaying it did not
   * reproduce the tokens (then each token's text is searched for in the original).
   */
  offsetsNote: string | null;
}

export interface TextTokenizer {
  /** Whether tokens spell bytes (GPT-2 style), which gives exact offsets without alignment. */
  readonly byteLevel: boolean;
  encode(text: string): Encoding;
  /** Token text for ids given without text (the CLI's --ids). */
  idToText(id: number): string;
  /** The mask token a masked language model fills in ([MASK], <mask>), or null when there is none. */
  readonly maskId: number | null;
}

/** The parts of tokenizer_config.json this module reads: the normalizer replay's, and the mask token. */
type TokenizerConfig = ReplayConfig & { mask_token?: unknown };

/**
 * The mask token: the one tokenizer_config.json names (`mask_token`, a string or an added token),
 * else a special added token spelled as BERT's or RoBERTa's.
 */
function maskTokenId(json: TokenizerJson, config: TokenizerConfig): number | null {
  const m = config.mask_token;
  const named =
    typeof m === 'string'
      ? m
      : m && typeof m === 'object' && typeof (m as { content?: unknown }).content === 'string'
        ? (m as { content: string }).content
        : undefined;
  const added = json.added_tokens ?? [];
  const found = named
    ? added.find((t) => t.content === named)
    : added.find((t) => t.special && (t.content === '[MASK]' || t.content === '<mask>'));
  return found ? found.id : null;
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

type JsonPart = { type?: string; normalizers?: JsonPart[]; pretokenizers?: JsonPart[] } | null | undefined;

/** The part with this type left out (also inside a Sequence); whether there was one. */
function leaveOut(
  part: JsonPart,
  type: string,
  list: 'normalizers' | 'pretokenizers',
): { part: JsonPart; found: boolean } {
  if (!part) return { part, found: false };
  if (part.type === type) return { part: null, found: true };
  const inner = part[list];
  if (!Array.isArray(inner)) return { part, found: false };
  const kept = inner.filter((p) => p?.type !== type);
  return { part: { ...part, [list]: kept }, found: kept.length < inner.length };
}

/**
 * The tokenizer library refuses a tokenizer.json with a normalizer or pre-tokenizer type it does
 * not know. Rather than show nothing, the text is tokenized without that part, and it is named
 * (the tokens may then differ from the model's own, which the panel says).
 */
function buildTokenizer(json: TokenizerJson, config: object): { tok: Tokenizer; skipped: string[] } {
  const skipped: string[] = [];
  let current = json;
  for (;;) {
    try {
      return { tok: new Tokenizer(current, config), skipped };
    } catch (e) {
      const m = /Unknown (Normalizer|PreTokenizer) type: (.+)$/.exec((e as Error).message);
      if (!m || skipped.length >= 8) throw e;
      const [key, list, what] =
        m[1] === 'Normalizer'
          ? (['normalizer', 'normalizers', 'normalizer'] as const)
          : (['pre_tokenizer', 'pretokenizers', 'pre-tokenizer'] as const);
      const out = leaveOut(current[key] as JsonPart, m[2], list);
      if (!out.found) throw e;
      current = { ...current, [key]: out.part };
      skipped.push(`${what} ${m[2]}`);
    }
  }
}

export function loadTokenizer(jsonText: string, configJsonText?: string): TextTokenizer {
  const json = parseTokenizerJson(jsonText);
  const config: TokenizerConfig = configJsonText ? (JSON.parse(configJsonText) as TokenizerConfig) : {};
  const { tok, skipped } = buildTokenizer(json, config);
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
    if (!isSpecial && piece !== undefined && BYTE_PIECE.test(piece)) return piece;
    if (!isSpecial && byteLevel && piece !== undefined) {
      const bytes = byteLevelTokenToBytes(piece);
      if (bytes && bytes.length > 0)
        return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
    }
    return idToText(id);
  };

  /** A vocabulary piece as it appears in the text: no '##' continuation mark, '▁' as a space. */
  const model = json.model ?? {};
  const prefix = model.continuing_subword_prefix;
  const suffix = model.end_of_word_suffix;
  const visiblePiece = (piece: string): string => {
    const bare = prefix && piece.startsWith(prefix) ? piece.slice(prefix.length) : piece;
    return BYTE_PIECE.test(bare) ? '' : bare.replace(/▁/g, ' ');
  };

  const replay = replayOf(json.normalizer, json.pre_tokenizer, config);
  const unkId =
    typeof model.unk_id === 'number' ? model.unk_id : model.unk_token ? tok.token_to_id(model.unk_token) : undefined;
  const added = new Map((json.added_tokens ?? []).map((t) => [t.id, t.content]));
  const utf8 = new TextEncoder();
  /** What a token spells in the normalised text, for tracing it back to the original. */
  const pieceOf = (piece: string, id: number): TokenPiece => {
    if (id === unkId) return { kind: 'unknown' };
    const content = added.get(id);
    if (content !== undefined) return { kind: 'added', content };
    if (byteLevel) {
      const bytes = byteLevelTokenToBytes(piece);
      return bytes ? { kind: 'bytes', bytes } : { kind: 'unknown' };
    }
    const byte = model.byte_fallback ? BYTE_PIECE.exec(piece) : null;
    if (byte) return { kind: 'bytes', bytes: Uint8Array.of(parseInt(byte[1], 16)) };
    let bare = prefix && piece.length > prefix.length && piece.startsWith(prefix) ? piece.slice(prefix.length) : piece;
    if (suffix && bare.endsWith(suffix)) bare = bare.slice(0, bare.length - suffix.length);
    return { kind: 'bytes', bytes: utf8.encode(bare) };
  };

  const unknownNote =
    skipped.length > 0
      ? `the tokenizer's ${skipped.join(', ')} is not supported, so the text was tokenized without it and the tokens may differ from the model's own`
      : replay.unknown.length > 0
        ? `the tokenizer's ${replay.unknown.join(', ')} is not one Attention Explorer can replay`
        : null;
  const spansOf = (
    text: string,
    pieces: readonly string[],
    ids: readonly number[],
  ): { spans: CharSpan[]; note: string | null } => {
    const traced = traceSpans(
      text,
      pieces.map((p, i) => pieceOf(p, ids[i])),
      replay,
    );
    if (traced.exact) return { spans: traced.spans, note: unknownNote };
    // Replaying the normalizer did not reproduce these tokens: find each token's text instead.
    return {
      spans: alignedSpans(
        text,
        pieces.map((piece, i) => (special.has(ids[i]) ? '' : visiblePiece(piece))),
      ),
      note: unknownNote ?? "replaying the tokenizer's normalizer did not give back its tokens",
    };
  };

  const encode = (text: string): Encoding => {
    // Offsets come from the text's own tokens; special tokens the post-processor adds around
    // them ([CLS], [SEP], <s>) are located afterwards and get empty spans at the edges.
    const core = tok.encode(text, { add_special_tokens: false });
    const full = tok.encode(text, { add_special_tokens: true });
    const { spans, note } = spansOf(text, core.tokens, core.ids);
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
    return { tokens, offsetsNote: note };
  };

  return { byteLevel, encode, idToText, maskId: maskTokenId(json, config) };
}
