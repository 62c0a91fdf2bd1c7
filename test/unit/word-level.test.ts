import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionStore } from '../../src/common/attention-store';
import type { TokenInfo } from '../../src/common/protocol';
import { textIds, wordOf, wordStore, wordTokens } from '../../src/common/word-level';
import { formatPerplexity, shownPredictions } from '../../src/common/surprisal';

/** Tokens of `text` cut at the given lengths (offsets into the text), as a tokenizer gives them. */
function tokensOf(text: string, pieces: string[], special: number[] = []): TokenInfo[] {
  let at = 0;
  return pieces.map((p, i) => {
    if (special.includes(i)) return { id: i, text: p, start: at, end: at, special: true };
    const start = text.indexOf(p, at);
    at = start + p.length;
    return { id: i, text: p, start, end: at, special: false };
  });
}

test('words from tokens: byte-level pieces, WordPiece pieces, punctuation and specials each as a user reads them', () => {
  const gpt = tokensOf('def fibonacci(n):', ['def', ' f', 'ib', 'on', 'acci', '(', 'n', '):']);
  assert.deepEqual(Array.from(wordOf(gpt)), [0, 1, 1, 1, 1, 2, 3, 4]);
  assert.deepEqual(
    wordTokens(gpt, wordOf(gpt)).map((t) => [t.text, t.start, t.end]),
    [
      ['def', 0, 3],
      [' fibonacci', 3, 13],
      ['(', 13, 14],
      ['n', 14, 15],
      ['):', 15, 17],
    ],
  );
  // BERT: [CLS] un ##believ ##able , cafe [SEP] — the text holds the pieces without their ## marks.
  const bert = tokensOf('unbelievable, cafe', ['[CLS]', 'un', 'believ', 'able', ',', 'cafe', '[SEP]'], [0, 6]);
  assert.deepEqual(Array.from(wordOf(bert)), [0, 1, 1, 1, 2, 3, 4]);
  // A character split over two tokens: the first covers no whole character and joins the next.
  const emoji: TokenInfo[] = [
    { id: 1, text: ' naïve', start: 0, end: 6, special: false },
    { id: 2, text: '\\xf0\\x9f', start: 6, end: 6, special: false },
    { id: 3, text: '😀', start: 6, end: 8, special: false },
  ];
  assert.deepEqual(Array.from(wordOf(emoji)), [0, 1, 1]);
  assert.deepEqual(
    wordTokens(emoji, wordOf(emoji)).map((t) => t.text),
    [' naïve', '😀'],
  );
  // "naïve" cut inside its ï: na | <0xC3> (no whole character) | ïve — one word, spelled as in the text.
  const naive: TokenInfo[] = [
    { id: 1, text: ' na', start: 0, end: 3, special: false },
    { id: 2, text: '<0xC3>', start: 3, end: 3, special: false },
    { id: 3, text: 'ïve', start: 3, end: 6, special: false },
  ];
  assert.deepEqual(
    wordTokens(naive, wordOf(naive)).map((t) => [t.text, t.start, t.end]),
    [[' naïve', 0, 6]],
  );
  assert.deepEqual(textIds(wordTokens(gpt, wordOf(gpt))), [0, 1, 2, 3, 4]);
  assert.deepEqual(textIds(tokensOf('a b a', ['a', ' b', ' a'])), [0, 1, 2], 'a leading space is part of the word');
});

test('word-level attention: summed over a word’s tokens as keys, averaged over them as queries; rows still sum to 1', () => {
  // Tokens 0 | 1 2 | 3 (words 0, 1, 2); one head, causal-looking rows.
  const a = [
    [1, 0, 0, 0],
    [0.5, 0.5, 0, 0],
    [0.2, 0.3, 0.5, 0],
    [0.1, 0.2, 0.3, 0.4],
  ];
  const store = new AttentionStore([{ start: 0, length: 4, layers: [Float32Array.from(a.flat())] }], 1, 1);
  const words = Int32Array.from([0, 1, 1, 2]);
  const w = wordStore(store, words);
  assert.equal(w.tokens, 3);
  const rows = [0, 1, 2].map((q) => Array.from(w.denseRow(0, 0, q)).map((x) => +x.toFixed(6)));
  assert.deepEqual(rows, [
    [1, 0, 0],
    // Queries 1 and 2 averaged: keys {0}: (0.5+0.2)/2, {1,2}: (0.5+0.8)/2, {3}: 0.
    [0.35, 0.65, 0],
    [0.1, 0.5, 0.4],
  ]);
});

test('word-level attention over windows: a re-added [CLS] stays its own word, a word cut by a window edge is averaged over its tokens in that window', () => {
  // Sequence: [CLS] a b c [SEP] (0..4); words: [CLS] | a b | c | [SEP] → 0 1 1 2 3.
  // Window 1 runs [CLS] a b; window 2 runs [CLS] (lead) b c [SEP].
  const w1 = Float32Array.from([1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5]);
  const w2 = Float32Array.from(
    [
      [1, 0, 0, 0],
      [0.4, 0.6, 0, 0],
      [0.1, 0.2, 0.7, 0],
      [0.25, 0.25, 0.25, 0.25],
    ].flat(),
  );
  const store = new AttentionStore(
    [
      { start: 0, length: 3, layers: [w1] },
      { start: 2, length: 3, layers: [w2], lead: [0] },
    ],
    1,
    1,
  );
  const words = Int32Array.from([0, 1, 1, 2, 3]);
  const w = wordStore(store, words);
  assert.deepEqual(
    w.windows.map((x) => [x.start, x.length, x.lead]),
    [
      [0, 2, []],
      [1, 3, [0]],
    ],
  );
  // In window 2 the word "a b" has only b: its row is b's, its column b's.
  const second = Array.from(w.windows[1].layers[0]).map((x) => +x.toFixed(6));
  assert.deepEqual(second, [1, 0, 0, 0, 0.4, 0.6, 0, 0, 0.1, 0.2, 0.7, 0, 0.25, 0.25, 0.25, 0.25]);
});

test('the host gets, per token or per word, the surprisal in bits and what the model expected after it', () => {
  const top = (text: string, p: number): { id: number; text: string; p: number }[] => [{ id: 0, text, p }];
  // Tokens "a", "bc", "d" where "bc" is two tokens: logprobs of the token that follows each one.
  const predictions = [
    { logprob: Math.log(0.5), top: top('b', 0.5) },
    { logprob: Math.log(0.25), top: top('c', 0.25) },
    { logprob: Math.log(0.125), top: top('d', 0.125) },
    { logprob: null, top: top('e', 0.9) },
  ];
  const perToken = shownPredictions(predictions);
  assert.deepEqual(
    perToken.map((p) => p.bits),
    [null, 1, 2, 3],
  );
  assert.deepEqual(perToken[3].next, [{ text: 'e', p: 0.9 }], 'the ids stay in the page');
  // Words: "a", "b"+"c", "d": a word's bits are its tokens' summed (the chain rule), and what is
  // expected after it is what followed its last token.
  const words = shownPredictions(predictions, { wordOf: Int32Array.from([0, 1, 1, 2]), count: 3 });
  assert.deepEqual(
    words.map((w) => [w.bits, w.expected[0]?.text, w.next[0].text]),
    [
      [null, undefined, 'b'],
      [3, 'b', 'd'],
      [3, 'd', 'e'],
    ],
  );
  // A masked model's rows predict the token itself (masked): no shift, nothing "next", a special
  // token (null) unpredicted; a word's candidates are those for its first token.
  const masked = [
    { logprob: null, top: [] },
    { logprob: Math.log(0.5), top: top('a', 0.5) },
    { logprob: Math.log(0.25), top: top('b', 0.25) },
    { logprob: Math.log(0.125), top: top('x', 0.5) },
  ];
  const maskedTokens = shownPredictions(masked, undefined, 'masked');
  assert.deepEqual(
    maskedTokens.map((p) => [p.bits, p.expected[0]?.text, p.next.length]),
    [
      [null, undefined, 0],
      [1, 'a', 0],
      [2, 'b', 0],
      [3, 'x', 0],
    ],
  );
  const maskedWords = shownPredictions(masked, { wordOf: Int32Array.from([0, 1, 1, 2]), count: 3 }, 'masked');
  assert.deepEqual(
    maskedWords.map((w) => [w.bits, w.expected[0]?.text]),
    [
      [null, undefined],
      [3, 'a'],
      [3, 'x'],
    ],
  );
});

test('a perplexity is written with one decimal, or with an exponent when it is huge (a model of random weights)', () => {
  assert.equal(formatPerplexity(3.14159), '3.1');
  assert.equal(formatPerplexity(17569.46), '17569.5');
  assert.equal(formatPerplexity(230746446.8), '2.31e+8');
});
