import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTokenizer } from '../../src/engine/tokenizer';
import { bertTokenizerJson, special, unigramTokenizerJson } from '../support/tokenizers';

/** A T5-style tokenizer.json: Metaspace pre-tokenizer and a Unigram model. */
function metaspaceTokenizerJson(): string {
  const pieces: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁Hello', -1],
    ['▁world', -1],
    ['▁wor', -2],
    ['ld', -2],
    ['▁', -3],
    ['!', -2],
  ];
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<pad>'), special(1, '</s>'), special(2, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab: pieces, byte_fallback: false },
  });
}

test('WordPiece with lower-casing and accent stripping: offsets land on the original text; [CLS] and [SEP] are shown and marked', () => {
  const tok = loadTokenizer(bertTokenizerJson());
  assert.equal(tok.byteLevel, false);
  const text = 'Héllo, the CAFÉ unbelievable!';
  const tokens = tok.encode(text).tokens;
  assert.deepEqual(
    tokens.map((t) => [t.text, t.start, t.end, t.special]),
    [
      ['[CLS]', 0, 0, true],
      ['Héllo', 0, 5, false],
      [',', 5, 6, false],
      ['the', 7, 10, false],
      ['CAFÉ', 11, 15, false],
      ['un', 16, 18, false],
      ['believ', 18, 24, false],
      ['able', 24, 28, false],
      ['!', 28, 29, false],
      ['[SEP]', 29, 29, true],
    ],
  );
});

test('Metaspace/Unigram: pieces with ▁ cover the space before their word, so the tokens tile the text; the appended </s> is special and empty', () => {
  const tok = loadTokenizer(metaspaceTokenizerJson());
  const text = 'Hello  world!';
  const tokens = tok.encode(text).tokens;
  const shown = tokens.map((t) => [text.slice(t.start, t.end), t.special]);
  assert.deepEqual(
    shown.filter(([s]) => s !== ''),
    [
      ['Hello', false],
      [' ', false],
      [' world', false],
      ['!', false],
    ],
  );
  const last = tokens[tokens.length - 1];
  assert.equal(last.text, '</s>');
  assert.equal(last.special, true);
  assert.deepEqual([last.start, last.end], [text.length, text.length]);
});

test('normalizers and pre-tokenizers replayed: every character belongs to one token, only whitespace the pre-tokenizer drops is left out', () => {
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  const cases: { name: string; normalizer: object | null; pre: object | null; text: string; dropsSpaces: boolean }[] = [
    {
      name: 'NFKC + Lowercase + Replace, Metaspace',
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'NFKC' },
          { type: 'Lowercase' },
          { type: 'Replace', pattern: { String: '``' }, content: '"' },
        ],
      },
      pre: metaspace,
      text: 'ＨＥＬＬＯ ``World`` ﬁxing x² ＡＢＣ！',
      dropsSpaces: false,
    },
    {
      name: 'NFD + StripAccents + Lowercase + Strip, WhitespaceSplit then Metaspace',
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'NFD' },
          { type: 'StripAccents' },
          { type: 'Lowercase' },
          { type: 'Strip', strip_left: true, strip_right: true },
        ],
      },
      pre: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, metaspace] },
      text: '  Café   Ångström\tnaïve e\u0301 ',
      dropsSpaces: true,
    },
    {
      name: 'Precompiled (NFKC and its whitespace rules) + Prepend + Replace, Split on digits',
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Precompiled', precompiled_charsmap: null },
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      },
      pre: { type: 'Split', pattern: { Regex: '\\d' }, behavior: 'Isolated', invert: false },
      text: 'fix\u00a0x1 ｆｉｘ\u0007ing 42',
      dropsSpaces: false,
    },
  ];
  for (const c of cases) {
    const tok = loadTokenizer(unigramTokenizerJson(c.normalizer, c.pre));
    const { tokens, offsetsNote } = tok.encode(c.text);
    assert.equal(offsetsNote, null, `${c.name}: exact`);
    assert.ok(!tokens.some((t) => t.id === 2), `${c.name}: no <unk> in ${tokens.map((t) => t.text).join('|')}`);
    let at = 0;
    for (const t of tokens) {
      if (t.end === t.start) continue;
      const gap = c.text.slice(at, t.start);
      assert.ok(t.start >= at, `${c.name}: overlap at ${t.start}`);
      if (c.dropsSpaces) assert.match(gap, /^\s*$/, `${c.name}: only whitespace is left out`);
      else assert.equal(gap, '', `${c.name}: gap before ${JSON.stringify(t.text)}`);
      at = t.end;
    }
    assert.match(c.text.slice(at), c.dropsSpaces ? /^\s*$/ : /^$/, `${c.name}: the tokens reach the end`);
  }
});

test('a selection cut at maxTokens keeps the [CLS] it opens with and is closed with [SEP] again', async () => {
  const { fitText } = await import('../../src/engine/fit');
  const tok = loadTokenizer(bertTokenizerJson());
  const text = 'hello, the cafe! '.repeat(40);
  const fit = fitText(text, tok, 10);
  assert.equal(fit.truncated, true);
  assert.equal(fit.tokens.length, 10);
  assert.deepEqual(
    fit.tokens.map((t) => t.text),
    ['[CLS]', 'hello', ',', 'the', 'cafe', '!', 'hello', ',', 'the', '[SEP]'],
  );
  const sep = fit.tokens[9];
  assert.equal(sep.special, true);
  assert.equal(sep.start, fit.analysedEnd);
  assert.equal(fit.analysedEnd, text.indexOf('the', 20) + 3);
  // Whole text that fits keeps its own [SEP] where the tokenizer put it.
  assert.deepEqual(
    fitText('the cafe', tok, 10).tokens.map((t) => t.text),
    ['[CLS]', 'the', 'cafe', '[SEP]'],
  );
});

test('the specials a window gets again are the ones the template added, not an [UNK] that stands for a word', async () => {
  const { addedBySequenceTemplate, edgeSpecials } = await import('../../src/engine/windows');
  const tok = loadTokenizer(bertTokenizerJson());
  const tokens = tok.encode('zebra the cafe quokka').tokens;
  assert.deepEqual(
    tokens.map((t) => [t.text, t.special]),
    [
      ['[CLS]', true],
      ['zebra', true],
      ['the', false],
      ['cafe', false],
      ['quokka', true],
      ['[SEP]', true],
    ],
  );
  assert.deepEqual(edgeSpecials(tokens.map(addedBySequenceTemplate)), { lead: 1, trail: 1 });
  // The unknown words keep their place in the text (the editor's hover finds them).
  assert.deepEqual(
    tokens.map((t) => [t.start, t.end]),
    [
      [0, 0],
      [0, 5],
      [6, 9],
      [10, 14],
      [15, 21],
      [21, 21],
    ],
  );
  // Unknown words in a row share their gap word by word.
  assert.deepEqual(
    tok.encode('zebra  quokka!').tokens.map((t) => [t.text, t.start, t.end]),
    [
      ['[CLS]', 0, 0],
      ['zebra', 0, 5],
      ['quokka', 7, 13],
      ['!', 13, 14],
      ['[SEP]', 14, 14],
    ],
  );
});

test('code through a small WordPiece vocabulary: a long run of [UNK] leaves the known words on their own text, each [UNK] on one word', () => {
  const tok = loadTokenizer(bertTokenizerJson(['.']));
  const text = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n';
  const tokens = tok.encode(text).tokens;
  const the = tokens.find((t) => t.id === 6)!;
  assert.equal(the.start, text.indexOf('the'));
  assert.equal(text.slice(the.start, the.end), 'the');
  const dot = tokens.find((t) => t.text === '.')!;
  assert.equal(dot.start, text.indexOf('.'));
  // Every token of the text covers text, in order, none overlapping the next.
  const core = tokens.slice(1, -1);
  for (let i = 0; i < core.length; i++) {
    assert.ok(core[i].end > core[i].start, `token ${i} (${core[i].text}) covers no text`);
    if (i > 0) assert.ok(core[i].start >= core[i - 1].end, `token ${i} overlaps token ${i - 1}`);
  }
  assert.equal(core[core.length - 1].text, 'n', 'the last [UNK] is the last word, not the rest of the text');
  assert.deepEqual([tokens[0].text, tokens[tokens.length - 1].text], ['[CLS]', '[SEP]']);
});
