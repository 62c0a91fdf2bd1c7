import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionStore } from '../../src/common/attention-store';
import { JSON_MAX_WEIGHTS, attentionJson, matrixCsv } from '../../src/common/export-formats';
import type { TokenInfo } from '../../src/common/protocol';
import { PageAnswers } from '../../src/host/page-answers';
import { SVG_MATRIX_MAX_TOKENS, headViewSvg, matrixSvg } from '../../src/common/svg-export';

const tokens: TokenInfo[] = [
  { id: 5, text: 'a,b', start: 0, end: 3, special: false },
  { id: 6, text: ' "c"', start: 3, end: 7, special: false },
];
// One layer, two heads, two tokens.
const store = new AttentionStore(
  [{ start: 0, length: 2, layers: [Float32Array.from([1, 0, 0.25, 0.75, 1, 0, 0.5, 0.5])] }],
  1,
  2,
);

test("the JSON export is the CLI's format: tokens, layer names, attentions[layer][head][query][key]", () => {
  const out = JSON.parse(attentionJson(tokens, ['/blocks.0/Softmax'], store)) as {
    tokens: { id: number; text: string; start: number; end: number }[];
    layers: string[];
    attentions: number[][][][];
  };
  assert.deepEqual(out.tokens, [
    { id: 5, text: 'a,b', start: 0, end: 3 },
    { id: 6, text: ' "c"', start: 3, end: 7 },
  ]);
  assert.deepEqual(out.layers, ['/blocks.0/Softmax']);
  assert.deepEqual(out.attentions, [
    [
      [
        [1, 0],
        [0.25, 0.75],
      ],
      [
        [1, 0],
        [0.5, 0.5],
      ],
    ],
  ]);
});

test('a JSON export too large to open is refused with what to do instead', () => {
  const n = Math.ceil(Math.sqrt(JSON_MAX_WEIGHTS / 144)) + 1;
  const big = new AttentionStore(
    [{ start: 0, length: n, layers: Array.from({ length: 12 }, () => new Float32Array(0)) }],
    12,
    12,
  );
  assert.throws(
    () => attentionJson([], [], big),
    /million weights, over 12 million for one JSON file: export one head as CSV/,
  );
});

test('the CSV export is one head as a matrix: keys across, queries down, tokens quoted where they need it', () => {
  const csv = matrixCsv(tokens, store, 0, 1);
  assert.equal(csv, 'query \\ key,"0:a,b","1: ""c"""\r\n"0:a,b",1,0\r\n"1: ""c""",0.5,0.5\r\n');
  // The mean over heads, as the panel's "all heads (mean)".
  assert.match(matrixCsv(tokens, store, 0, 'mean'), /\r\n"1: ""c""",0\.375,0\.625\r\n$/);
});

test('a question to the page is answered by its id; one never answered times out, and closing the panel cancels the rest', async () => {
  const answers = new PageAnswers<string>(50);
  const asked: number[] = [];
  const first = answers.ask(1, () => asked.push(1));
  answers.answer(1, 'scores');
  assert.equal(await first, 'scores');
  const silent = answers.ask(2, () => asked.push(2));
  assert.equal(await silent, undefined, 'timed out');
  const open = answers.ask(3, () => asked.push(3));
  answers.cancelAll();
  assert.equal(await open, undefined);
  answers.answer(3, 'late');
  assert.deepEqual(asked, [1, 2, 3]);
});

const colours = { background: '#1e1e1e', foreground: '#cccccc', muted: '#999999', accent: [55, 148, 255] as const };

test('the head view as SVG: both columns of tokens (escaped), one path per opacity step, only the focused token’s lines when one is focused', () => {
  const toks: TokenInfo[] = [
    { id: 1, text: '<a&b>', start: 0, end: 5, special: false },
    { id: 2, text: ' "q"', start: 5, end: 9, special: false },
  ];
  const all = headViewSvg({ tokens: toks, store, view: { layer: 0, head: 0 }, focus: null, colours });
  assert.match(all, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="52"/);
  assert.equal((all.match(/<text /g) ?? []).length, 4, 'each token on both sides');
  assert.ok(
    all.includes('&lt;a&amp;b&gt;') && all.includes('·&quot;q&quot;'),
    'tokens escaped and shown as in the panel',
  );
  // Head 0: weights 1 (0→0), 0.25 and 0.75 (1→0, 1→1): three lines, in three opacity steps.
  assert.equal((all.match(/L\d/g) ?? []).length, 3);
  assert.equal((all.match(/<path /g) ?? []).length, 3);
  const focused = headViewSvg({
    tokens: toks,
    store,
    view: { layer: 0, head: 0 },
    focus: { index: 1, side: 'query' },
    colours,
  });
  assert.equal((focused.match(/L\d/g) ?? []).length, 2, "only token 1's lines");
  assert.equal((focused.match(/<rect /g) ?? []).length, 1 + 2, 'the background, and the keys it attends to shaded');
});

test('the matrix as SVG: one cell per weight drawn, labelled when the cells are large enough; too many tokens is refused', () => {
  const out = matrixSvg({ tokens, store, view: { layer: 0, head: 'mean' }, focus: null, colours });
  // Mean of the two heads: [[1, 0], [0.375, 0.625]]: three cells (a zero draws nothing), plus the background.
  assert.equal((out.match(/<rect /g) ?? []).length, 1 + 3);
  assert.equal((out.match(/<text /g) ?? []).length, 4);
  const n = SVG_MATRIX_MAX_TOKENS + 1;
  const wide = new AttentionStore([{ start: 0, length: n, layers: [new Float32Array(0)] }], 1, 1);
  const many = Array.from({ length: n }, (_, i) => ({ id: i, text: 'x', start: i, end: i + 1, special: false }));
  assert.throws(
    () => matrixSvg({ tokens: many, store: wide, view: { layer: 0, head: 0 }, focus: null, colours }),
    /401² cells, too many for an SVG .* export it as PNG/,
  );
});
