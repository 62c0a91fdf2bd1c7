import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { alignedSpans } from '../../src/engine/offsets';
import { replayOf } from '../../src/engine/normalizer-replay';
import { traceSpans, type TokenPiece } from '../../src/engine/token-spans';
import { loadTokenizer } from '../../src/engine/tokenizer';
import { BUNDLED_MODEL_DIR } from '../support/paths';

const tokenizer = loadTokenizer(fs.readFileSync(path.join(BUNDLED_MODEL_DIR, 'tokenizer.json'), 'utf8'));

/** Non-empty spans, in order, must tile the text exactly. */
function assertTiles(text: string, spans: { start: number; end: number }[]): void {
  let at = 0;
  for (const s of spans) {
    assert.ok(s.start <= s.end, `span ${s.start}-${s.end} is reversed`);
    if (s.end === s.start) continue;
    assert.equal(s.start, at, `gap or overlap at ${at}`);
    at = s.end;
  }
  assert.equal(at, text.length, 'spans do not reach the end of the text');
}

test('the bundled tokenizer is byte-level and its tokens carry exact offsets for ASCII code', () => {
  const text = 'def add(a, b):\n    return a + b\n';
  const tokens = tokenizer.encode(text).tokens;
  assert.ok(tokenizer.byteLevel);
  assertTiles(text, tokens);
  for (const t of tokens) assert.equal(t.text, text.slice(t.start, t.end));
  assert.deepEqual(
    tokens.slice(0, 2).map((t) => [t.text, t.start, t.end]),
    [
      ['def', 0, 3],
      [' add', 3, 7],
    ],
  );
});

test('multi-byte characters and emoji map to UTF-16 offsets; split characters go to the token that completes them', () => {
  const text = 'naïve café — 日本語 👩‍💻 x😀y';
  const tokens = tokenizer.encode(text).tokens;
  assertTiles(text, tokens);
  // The emoji is outside the 8,192-entry vocabulary, so its 4 bytes are split across tokens:
  // only the token holding its last byte covers it, the others are empty and keep their place.
  const emoji = text.indexOf('😀');
  const covering = tokens.filter((t) => t.start <= emoji && t.end > emoji);
  assert.equal(covering.length, 1);
  assert.ok(covering[0].end >= emoji + 2, 'the token covering 😀 covers both UTF-16 units');
  assert.ok(
    tokens.some((t) => t.start === t.end),
    'some byte token covers no whole character',
  );
  for (const t of tokens) if (t.end > t.start) assert.equal(t.text, text.slice(t.start, t.end));
});

test('a special token written in the text keeps its literal span', () => {
  const text = 'one<|endoftext|>two';
  const tokens = tokenizer.encode(text).tokens;
  const eot = tokens.find((t) => t.id === 0);
  assert.ok(eot);
  assert.equal(eot.special, true);
  assert.deepEqual([eot.start, eot.end], [3, 16]);
  assertTiles(text, tokens);
});

test('tokens that do not spell the normalised text are not placed as if they did', () => {
  const replay = replayOf(null, null);
  const spell = (s: string): TokenPiece => ({ kind: 'bytes', bytes: new TextEncoder().encode(s) });
  const ok = traceSpans('abc', [spell('a'), spell('bc')], replay);
  assert.equal(ok.exact, true);
  assert.deepEqual(ok.spans, [
    { start: 0, end: 1 },
    { start: 1, end: 3 },
  ]);
  assert.equal(traceSpans('abc', [spell('a'), spell('x')], replay).exact, false);
  assert.equal(traceSpans('abc', [spell('ab'), spell('ab')], replay).exact, false);
  // A split character goes to the piece that holds its last byte.
  const split = traceSpans(
    'é',
    [
      { kind: 'bytes', bytes: Uint8Array.of(0xc3) },
      { kind: 'bytes', bytes: Uint8Array.of(0xa9) },
    ],
    replay,
  );
  assert.deepEqual(split.spans, [
    { start: 0, end: 0 },
    { start: 0, end: 1 },
  ]);
});

test('alignment puts normalised pieces (lower-cased, accent-stripped) back onto the original text', () => {
  const text = 'Héllo  WORLD';
  assert.deepEqual(alignedSpans(text, ['hello', 'world']), [
    { start: 0, end: 5 },
    { start: 7, end: 12 },
  ]);
  assert.deepEqual(alignedSpans(text, ['', 'hel', 'lo', 'zzz']), [
    { start: 0, end: 0 },
    { start: 0, end: 3 },
    { start: 3, end: 5 },
    { start: 5, end: 5 },
  ]);
});

test('empty text gives no tokens', () => {
  assert.deepEqual(tokenizer.encode('').tokens, []);
});

test('a 2 MB selection is tokenized only as far as maxTokens needs, and said to be cut', async () => {
  const { fitText } = await import('../../src/engine/fit');
  const line = 'const value = compute(input, options); // 😀 naïve\n';
  const big = line.repeat(Math.ceil((2 * 1024 * 1024) / line.length));
  const t0 = performance.now();
  const fit = fitText(big, tokenizer, 1024);
  const ms = performance.now() - t0;
  assert.equal(fit.tokens.length, 1024);
  assert.equal(fit.truncated, true);
  assert.equal(fit.analysedEnd, fit.tokens[1023].end);
  assert.ok(ms < 5000, `fitting took ${ms} ms`);
  // The kept tokens are exactly those of tokenizing the analysed part alone.
  assert.deepEqual(
    tokenizer.encode(big.slice(0, fit.analysedEnd)).tokens.map((t) => t.id),
    fit.tokens.map((t) => t.id),
  );
  const small = fitText('short text', tokenizer, 1024);
  assert.equal(small.truncated, false);
  assert.equal(small.analysedEnd, 10);
});

test('a byte token that covers no whole character shows its bytes', () => {
  const tokens = tokenizer.encode('x😀').tokens;
  const empty = tokens.filter((t) => t.start === t.end);
  assert.ok(empty.length > 0);
  for (const t of empty) assert.match(t.text, /^(<0x[0-9A-F]{2}>)+$/);
});
