import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyChange, tokenAtOffset, tokensInRange, type AnalysisRecord } from '../../src/host/analysis-record';
import { hoverMarkdown } from '../../src/host/hover-text';
import { pickRange } from '../../src/host/pick-range';
import { receiveFromWebview } from '../../src/host/webview-inbox';
import type { TokenInfo, WebviewToHost } from '../../src/common/protocol';

function record(): AnalysisRecord {
  // "ab cd" analysed from document offset 10: tokens "ab", " cd", and an empty byte token.
  const tokens: TokenInfo[] = [
    { id: 1, text: 'ab', start: 0, end: 2, special: false },
    { id: 2, text: '<0xF0>', start: 2, end: 2, special: false },
    { id: 3, text: ' cd', start: 2, end: 5, special: false },
  ];
  return {
    requestId: 1,
    uri: 'file:///a',
    baseOffset: 10,
    textLength: 5,
    stale: false,
    result: {
      tokens,
      model: { name: 'm', layers: 1, heads: 1, context: 8, causal: true, layerNames: ['l0'] },
      backend: 'wasm',
      backendNote: null,
      runMs: 1,
      analysedEnd: 5,
      truncated: false,
      view: { layer: 0, head: 'mean' },
      predictions: null,
      intervention: null,
      summaries: [
        {
          attends: [{ index: 0, weight: 1 }],
          attendedBy: [
            { index: 2, weight: 0.6 },
            { index: 0, weight: 1 },
          ],
        },
        { attends: [], attendedBy: [] },
        {
          attends: [
            { index: 0, weight: 0.6 },
            { index: 2, weight: 0.4 },
          ],
          attendedBy: [{ index: 2, weight: 0.4 }],
        },
      ],
    },
  };
}

test('document offsets map to the token covering them; empty tokens are never hit', () => {
  const r = record();
  assert.equal(tokenAtOffset(r, 9), undefined);
  assert.equal(tokenAtOffset(r, 10), 0);
  assert.equal(tokenAtOffset(r, 11), 0);
  assert.equal(tokenAtOffset(r, 12), 2);
  assert.equal(tokenAtOffset(r, 14), 2);
  assert.equal(tokenAtOffset(r, 15), undefined);
});

test('a selection maps to the analysed tokens it overlaps, empty tokens skipped', () => {
  const r = record();
  assert.deepEqual(tokensInRange(r, 10, 15), { first: 0, last: 2 });
  assert.deepEqual(tokensInRange(r, 11, 13), { first: 0, last: 2 });
  assert.deepEqual(tokensInRange(r, 12, 13), { first: 2, last: 2 });
  assert.equal(tokensInRange(r, 0, 10), undefined, 'before the analysed text');
  assert.equal(tokensInRange(r, 15, 30), undefined, 'after it');
});

test('edits before the analysed text shift it, edits inside make it stale, edits after change nothing', () => {
  const r = record();
  assert.equal(applyChange(r, { offset: 20, length: 3, insertedLength: 0 }), 'unchanged');
  assert.equal(applyChange(r, { offset: 15, length: 0, insertedLength: 4 }), 'unchanged');
  assert.equal(applyChange(r, { offset: 0, length: 2, insertedLength: 5 }), 'shifted');
  assert.equal(r.baseOffset, 13);
  assert.equal(tokenAtOffset(r, 13), 0);
  assert.equal(applyChange(r, { offset: 13, length: 0, insertedLength: 1 }), 'shifted');
  assert.equal(r.stale, false);
  assert.equal(applyChange(r, { offset: 15, length: 1, insertedLength: 1 }), 'stale');
  assert.equal(r.stale, true);
});

test('the hover lists top tokens with line:column and weight, and a reveal link; stale says so', () => {
  const r = record();
  const md = hoverMarkdown(r, 2, 5, (o) => ({ line: 1, column: o + 1 }), 'attentionExplorer.revealToken');
  assert.match(md, /`·cd` \(token 2\) · layer 0, all heads \(mean\)/);
  assert.match(
    md,
    /\*\*Attends to\*\*\n\n\| token \| line:col \| weight \|\n\|---\|---\|---\|\n\| `ab` \| 1:11 \| 0\.600 \|\n\| `·cd` \| 1:13 \| 0\.400 \|/,
  );
  assert.match(md, /\[Reveal in panel\]\(command:attentionExplorer\.revealToken\?%5B2%5D\)/);
  assert.equal((hoverMarkdown(r, 0, 1, () => ({ line: 1, column: 1 }), 'x').match(/\| `/g) ?? []).length, 2); // k=1 each way
  // A result run with an intervention says so, its token text kept from reading as Markdown.
  r.result!.intervention = 'knocked out L3·H7 · hid “*x*”';
  assert.match(
    hoverMarkdown(r, 2, 5, () => ({ line: 1, column: 1 }), 'x').split('\n')[0],
    / · \*with an intervention: knocked out L3·H7 · hid “\\\*x\\\*”\*$/,
  );
  r.result!.intervention = null;
  r.stale = true;
  assert.match(
    hoverMarkdown(r, 2, 5, () => ({ line: 1, column: 1 }), 'x'),
    /text changed since this analysis/,
  );
});

test("with predictions, the hover gives the token's surprisal, what was expected in its place, and what comes next", () => {
  const r = record();
  r.result!.predictions = [
    { bits: null, expected: [], next: [{ text: ' cd', p: 0.42 }] },
    { bits: 3, expected: [{ text: ' cd', p: 0.42 }], next: [] },
    {
      bits: 1.5,
      expected: [],
      next: [
        { text: '\n', p: 0.6 },
        { text: '|', p: 0.001 },
      ],
    },
  ];
  const predictions = r.result!.predictions;
  const md = hoverMarkdown(r, 2, 5, () => ({ line: 1, column: 1 }), 'x');
  assert.match(md, /\*\*Surprisal\*\* 1\.5 bits \(p 0\.35\)\n\n\*\*Predicted next\*\*: `↵` 60% · `¦` <1%/);
  // Nothing expected in its place to show (the token before it, an empty byte token, predicted nothing).
  assert.doesNotMatch(md, /expected here/);
  predictions[2].expected = [{ text: ' cd', p: 0.35 }];
  assert.match(
    hoverMarkdown(r, 2, 5, () => ({ line: 1, column: 1 }), 'x'),
    /expected here: `·cd` 35%/,
  );
  assert.match(
    hoverMarkdown(r, 0, 5, () => ({ line: 1, column: 1 }), 'x'),
    /\*\*Surprisal\*\*: none \(nothing precedes it\)/,
  );
  // A model that attends both ways predicted each token masked: what it fills in, no "next".
  r.result!.model = { ...r.result!.model, causal: false };
  predictions[2].next = [];
  const masked = hoverMarkdown(r, 2, 5, () => ({ line: 1, column: 1 }), 'x');
  assert.match(masked, /\*\*Surprisal\*\* 1\.5 bits \(p 0\.35\) · masked, the model fills in: `·cd` 35%/);
  assert.doesNotMatch(masked, /Predicted next/);
  assert.match(
    hoverMarkdown(r, 0, 5, () => ({ line: 1, column: 1 }), 'x'),
    /\*\*Surprisal\*\*: none \(a special token, not masked\)/,
  );
  // Without predictions the hover is as before.
  r.result!.predictions = null;
  assert.doesNotMatch(
    hoverMarkdown(r, 2, 5, () => ({ line: 1, column: 1 }), 'x'),
    /Surprisal|Predicted/,
  );
});

test('the text analysed: the selection, else the current line, else the visible range', () => {
  const line = { start: 0, end: 5, text: 'x = 1' };
  assert.deepEqual(pickRange({ selection: { start: 2, end: 4 }, line, visible: { start: 0, end: 99 } }), {
    start: 2,
    end: 4,
    what: 'selection',
  });
  assert.deepEqual(pickRange({ selection: { start: 2, end: 2 }, line, visible: { start: 0, end: 99 } }), {
    start: 0,
    end: 5,
    what: 'line',
  });
  assert.deepEqual(
    pickRange({
      selection: { start: 2, end: 2 },
      line: { start: 0, end: 2, text: '  ' },
      visible: { start: 0, end: 99 },
    }),
    { start: 0, end: 99, what: 'visible range' },
  );
  assert.equal(
    pickRange({ selection: { start: 0, end: 0 }, line: { start: 0, end: 0, text: '' }, visible: { start: 0, end: 0 } }),
    undefined,
  );
});

test('a malformed message from the webview is rejected and logged; nothing downstream sees it', () => {
  const logged: string[] = [];
  const handled: WebviewToHost[] = [];
  const log = { warn: (m: string) => logged.push(m) };
  for (const bad of [
    null,
    'x',
    { type: 'result', requestId: 1, tokens: 'many' },
    { type: 'focusToken', requestId: 1, index: -1 },
    { type: 'summary' },
  ]) {
    assert.equal(
      receiveFromWebview(bad, (m) => handled.push(m), log),
      false,
    );
  }
  assert.equal(handled.length, 0);
  assert.equal(logged.length, 5);
  assert.match(logged[2], /rejected a message from the webview: malformed "result" message/);
  // A handler that throws is contained too.
  assert.equal(
    receiveFromWebview(
      { type: 'ready' },
      () => {
        throw new Error('boom');
      },
      log,
    ),
    false,
  );
  assert.match(logged[5], /boom/);
  assert.equal(
    receiveFromWebview({ type: 'ready' }, (m) => handled.push(m), log),
    true,
  );
  assert.deepEqual(handled, [{ type: 'ready' }]);
});
