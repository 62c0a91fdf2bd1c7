import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostMessage, parseWebviewMessage } from '../../src/common/protocol-validation';
import { analyseRequest } from '../support/webview-page';

test('well-formed messages pass validation in both directions', () => {
  assert.ok(parseWebviewMessage({ type: 'ready' }).ok);
  assert.ok(parseWebviewMessage({ type: 'summary', requestId: 1, view: { layer: 0, head: 'mean' }, summaries: [] }).ok);
  assert.ok(parseHostMessage({ type: 'setView', view: { layer: 2, head: 3 } }).ok);
  assert.ok(parseHostMessage({ type: 'setView', view: { layer: 2, head: 'rollout' } }).ok);
  assert.ok(parseHostMessage(analyseRequest(1, 'x', { backend: 'auto', maxTokens: 10, topK: 5 }, 'a.ts')).ok);
  const noPredictions = analyseRequest(1, 'x', {}, 'a.ts') as unknown as { settings: Record<string, unknown> };
  delete noPredictions.settings.predictions;
  assert.equal(parseHostMessage(noPredictions).ok, false, 'a request says whether predictions are on');
});

test('malformed messages are rejected with a reason', () => {
  const bad: unknown[] = [
    null,
    42,
    'ready',
    [],
    {},
    { type: 'nope' },
    { type: 'summary', requestId: 1, view: { layer: -1, head: 0 }, summaries: [] },
    { type: 'summary', requestId: 1, view: { layer: 0, head: 'median' }, summaries: [] },
    {
      type: 'summary',
      requestId: 1,
      view: { layer: 0, head: 0 },
      summaries: [{ attends: [{ index: 'a', weight: 1 }], attendedBy: [] }],
    },
    { type: 'result', requestId: 1 },
    { type: 'focusToken', requestId: 1, index: 1.5 },
    { type: 'error', requestId: 'x', message: 'm' },
  ];
  for (const m of bad) {
    const r = parseWebviewMessage(m);
    assert.equal(r.ok, false, `accepted ${JSON.stringify(m)}`);
    if (!r.ok) assert.ok(r.error.length > 0);
  }
  assert.equal(parseHostMessage({ type: 'analyse', requestId: 1, text: 5 }).ok, false);
  assert.equal(parseHostMessage({ type: 'revealToken', index: -2 }).ok, false);
});

test('every message type of each direction has its validator, and nothing else is accepted', () => {
  // A message of each type, as the other side sends it: all must pass; with a field broken, each must fail.
  const view = { layer: 0, head: 'mean' };
  const host: Record<string, Record<string, unknown>> = {
    analyse: {
      type: 'analyse',
      requestId: 1,
      text: 'x',
      source: 's',
      origin: { uri: 'u', offset: 0 },
      settings: { backend: 'wasm', maxTokens: 1, topK: 1, predictions: false },
      intervention: { heads: [{ layer: 0, head: 1 }], hiddenTokens: [0] },
    },
    setView: { type: 'setView', view },
    compare: { type: 'compare' },
    intervene: { type: 'intervene', requestId: 2, heads: [{ layer: 1, head: 0 }], hidden: [3, 4] },
    revealToken: { type: 'revealToken', index: 0 },
    focusTokens: { type: 'focusTokens', requestId: 2, range: { first: 3, last: 5 } },
    setStale: { type: 'setStale', stale: true },
    clear: { type: 'clear' },
    scoreHeads: { type: 'scoreHeads', requestId: 3 },
    export: { type: 'export', requestId: 3, format: 'csv' },
    file: { type: 'file', file: 'model', data: new Uint8Array(1) },
    fileError: { type: 'fileError', file: 'model', message: 'gone' },
  };
  const webview: Record<string, Record<string, unknown>> = {
    ready: { type: 'ready' },
    readFile: { type: 'readFile', file: 'runtime:wasm' },
    result: {
      type: 'result',
      requestId: 1,
      backend: 'wasm',
      backendNote: null,
      runMs: 1,
      tokens: [],
      analysed: { start: 0, end: 0 },
      truncated: false,
      windows: 1,
      view,
      summaries: [],
      predictions: null,
      intervention: null,
      model: { name: 'm', layers: 1, heads: 1, context: 8, causal: true, layerNames: ['l'] },
    },
    summary: { type: 'summary', requestId: 1, view, summaries: [] },
    focusToken: { type: 'focusToken', requestId: 1, index: null },
    rangeSummary: { type: 'rangeSummary', requestId: 1, first: 2, last: 4, attends: [{ index: 0, weight: 1.5 }] },
    superseded: { type: 'superseded', requestId: 1 },
    headScores: {
      type: 'headScores',
      requestId: 1,
      heads: [
        {
          layer: 0,
          head: 1,
          scores: { previousToken: 0.1, firstToken: 0.2, self: 0.3, entropy: 1, meanDistance: 2, induction: null },
        },
      ],
    },
    exported: { type: 'exported', requestId: 1, format: 'png', data: new Uint8Array(3), error: null },
    exportAsked: { type: 'exportAsked' },
    error: { type: 'error', requestId: null, message: 'm' },
    restart: { type: 'restart', requestId: 2, reason: 'lost' },
  };
  for (const [parse, all] of [
    [parseHostMessage, host],
    [parseWebviewMessage, webview],
  ] as const) {
    for (const [type, m] of Object.entries(all)) {
      assert.ok(parse(m).ok, `${type} refused`);
      const broken = Object.keys(m).filter((k) => k !== 'type');
      for (const k of broken)
        assert.equal(parse({ ...m, [k]: Symbol.iterator }).ok, false, `${type} with a broken ${k} accepted`);
    }
  }
  // An export carries its bytes or its reason, never both or neither; a format nobody offers is refused.
  assert.equal(parseWebviewMessage({ ...webview.exported, error: 'x' }).ok, false);
  assert.equal(parseWebviewMessage({ ...webview.exported, data: null }).ok, false);
  assert.equal(parseHostMessage({ ...host.export, format: 'pdf' }).ok, false);
  // Several tokens are at least two, in order; no range at all says the selection ended.
  assert.equal(parseHostMessage({ ...host.focusTokens, range: { first: 5, last: 5 } }).ok, false);
  assert.ok(parseHostMessage({ ...host.focusTokens, range: null }).ok);
  assert.equal(parseWebviewMessage({ ...webview.rangeSummary, last: 1 }).ok, false);
  // Predictions come one per token, with surprisal ≥ 0 and probabilities in 0..1.
  const token = { id: 1, text: 'a', start: 0, end: 1, special: false };
  const summary = { attends: [], attendedBy: [] };
  const oneToken = { ...webview.result, tokens: [token], summaries: [summary] };
  const prediction = { bits: 2.5, expected: [{ text: 'a', p: 0.25 }], next: [{ text: 'b', p: 0.5 }] };
  assert.ok(parseWebviewMessage({ ...oneToken, predictions: [prediction] }).ok);
  assert.equal(parseWebviewMessage({ ...oneToken, predictions: [] }).ok, false);
  assert.equal(parseWebviewMessage({ ...oneToken, predictions: [{ ...prediction, bits: -1 }] }).ok, false);
  assert.equal(
    parseWebviewMessage({ ...oneToken, predictions: [{ ...prediction, next: [{ text: 'b', p: 2 }] }] }).ok,
    false,
  );
  assert.equal(parseWebviewMessage({ ...oneToken, predictions: [{ bits: 1, next: [] }] }).ok, false, 'no expected');
  // A request without an intervention (as saved by an earlier version) runs plainly; a head is two integers.
  assert.ok(parseHostMessage({ ...host.analyse, intervention: undefined }).ok);
  assert.ok(parseHostMessage({ ...host.analyse, intervention: null }).ok);
  assert.equal(parseHostMessage({ ...host.intervene, heads: [{ layer: 1 }] }).ok, false);
  // The old spelling, and the message nobody read, are gone.
  assert.equal(parseHostMessage({ ...host.analyse, type: 'analyze' }).ok, false);
  assert.equal(parseWebviewMessage({ type: 'progress', requestId: 1, message: 'x' }).ok, false);
});
