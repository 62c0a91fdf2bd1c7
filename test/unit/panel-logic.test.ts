/** The panel's own logic that needs no DOM: the request queue, the restored state, the notices above a result. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionStore } from '../../src/common/attention-store';
import type { EngineResult } from '../../src/engine/model-engine';
import { pageIsLocal } from '../../webview/engine-inputs';
import { RequestQueue } from '../../webview/request-queue';
import { INITIAL_STATE, restoreState } from '../../src/common/panel-state';
import { runNotices, runSummary } from '../../webview/run-notices';
import { analyseRequest } from '../support/webview-page';
import { InterventionState } from '../../webview/intervention-state';
import { lossChange, runsOf, tokensOfUnits, unitEffects, unitsOfTokens } from '../../src/common/intervention-display';

test('the request queue runs one request at a time; the newest waits, and replaces (supersedes) an older waiting one', async () => {
  const ran: number[] = [];
  const superseded: number[] = [];
  let release: () => void = () => undefined;
  const queue = new RequestQueue<number>(
    (n) => {
      ran.push(n);
      return n === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    },
    (n) => superseded.push(n),
  );
  queue.submit(1);
  assert.ok(queue.busy);
  queue.submit(2);
  queue.submit(3);
  assert.deepEqual(ran, [1]);
  assert.deepEqual(superseded, [2]);
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(ran, [1, 3]);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(queue.busy, false);
});

test('a request still waiting for the model is overtaken by a newer one: it is superseded and does not run', async () => {
  const superseded: number[] = [];
  const ran: number[] = [];
  let modelReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (modelReady = r));
  const queue = new RequestQueue<number>(
    async (n) => {
      await ready;
      if (queue.overtaken()) return;
      ran.push(n);
    },
    (n) => superseded.push(n),
  );
  queue.submit(1);
  queue.submit(2);
  modelReady();
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(ran, [2]);
  assert.deepEqual(superseded, [1]);
});

test('a restored panel state is validated like a message: what does not validate gets the initial value', () => {
  const request = analyseRequest(4, 'x', { backend: 'wasm', maxTokens: 9, topK: 5 }, 'a.py');
  const good = restoreState({ request, view: { layer: 2, head: 'max' }, tab: 1, colourByHead: true, pinned: 3 });
  assert.deepEqual(good, {
    request,
    view: { layer: 2, head: 'max' },
    tab: 1,
    colourByHead: true,
    words: false,
    pinned: 3,
  });
  assert.equal(restoreState({ words: true, tab: 3 }).words, true);
  assert.equal(restoreState({ tab: 9 }).tab, 0);
  assert.deepEqual(restoreState(undefined), INITIAL_STATE);
  assert.deepEqual(restoreState('garbage'), INITIAL_STATE);
  const bad = restoreState({
    request: { ...request, settings: { backend: 'cuda' } },
    view: { layer: -1, head: 'median' },
    tab: 7,
    colourByHead: 'yes',
    pinned: 1.5,
  });
  assert.deepEqual(bad, { ...INITIAL_STATE, request: undefined });
});

test('the notices above a result name what the user must know: stale text, the backend note, a cut, the windows and their specials, approximate token places', () => {
  const tokens = ['[CLS]', 'a', 'b', 'c', '[SEP]'].map((text, i) => ({
    id: i,
    text,
    start: i,
    end: i + 1,
    special: text.startsWith('['),
  }));
  const store = new AttentionStore(
    [
      { start: 0, length: 3, layers: [new Float32Array(16)], trail: [4] },
      { start: 2, length: 3, layers: [new Float32Array(16)], lead: [0] },
    ],
    1,
    1,
  );
  const r: EngineResult = {
    tokens,
    store,
    backend: 'wasm',
    backendNote: 'No WebGPU adapter is available here; running on WebAssembly instead.',
    runMs: 12.4,
    analysedEnd: 5,
    truncated: true,
    offsetsNote: null,
    windows: 2,
    timings: {},
    predictions: null,
    predictionKind: null,
    predictionsNote: null,
    intervention: null,
    tokenizerId: '0',
    model: { name: 'tiny', layers: 1, heads: 1, context: 4, causal: false, layerNames: ['l0'] },
  };
  assert.equal(runSummary(r), 'tiny · WebAssembly · 12 ms · 5 tokens · 1 layer × 1 head · full (encoder) attention');
  const n = runNotices(r, true).map((x) => `${x.kind}: ${x.text}`);
  assert.match(n[0], /^warning: The text changed since this analysis/);
  assert.match(n[1], /^warning: No WebGPU adapter/);
  assert.match(n[2], /^warning: Only the first 5 tokens were analysed/);
  assert.match(
    n[3],
    /^info: .*4-token context: it was analysed in 2 windows.*Every window begins with \[CLS\] and ends with \[SEP\]/,
  );
  assert.deepEqual(runNotices({ ...r, backendNote: null, truncated: false, windows: 1 }, false), []);
  const approximate = runNotices(
    {
      ...r,
      backendNote: null,
      truncated: false,
      windows: 1,
      offsetsNote: "the tokenizer's normalizer X is not supported",
    },
    false,
  );
  assert.equal(approximate.length, 1);
  assert.match(
    approximate[0].text,
    /places in the text are approximate \(the tokenizer's normalizer X is not supported\)/,
  );
});

test("the host's local server is tried only from a page on this machine (a remote page would make the browser ask for local network access)", () => {
  const local = [
    { protocol: 'vscode-webview:', hostname: '0a1b2c' },
    { protocol: 'http:', hostname: '127.0.0.1' },
    { protocol: 'https:', hostname: 'localhost' },
    { protocol: 'http:', hostname: '[::1]' },
    { protocol: 'http:', hostname: 'code.localhost' },
  ];
  const remote = [
    { protocol: 'https:', hostname: 'dev.example.com' },
    { protocol: 'http:', hostname: '192.168.1.20' },
    { protocol: 'https:', hostname: 'localhost.example.com' },
  ];
  for (const w of local) assert.equal(pageIsLocal(w), true, JSON.stringify(w));
  for (const w of remote) assert.equal(pageIsLocal(w), false, JSON.stringify(w));
});

test('an intervention chosen in words is kept in tokens: a word hides all its tokens, clicked again shows them; heads toggle', () => {
  // Tokens a | b c | d: word 1 is tokens 1 and 2.
  const wordOf = Int32Array.from([0, 1, 1, 2]);
  assert.deepEqual(tokensOfUnits([1], wordOf), [1, 2]);
  assert.deepEqual(unitsOfTokens([2, 3], wordOf), [1, 2]);
  assert.deepEqual(tokensOfUnits([3, 1]), [1, 3]);
  assert.deepEqual(runsOf([7, 2, 3, 4, 9, 3]), [[2, 3, 4], [7], [9]]);
  const s = new InterventionState();
  assert.equal(s.choice(), null);
  s.toggleUnit(1, wordOf);
  s.toggleHead({ layer: 2, head: 1 });
  s.toggleHead({ layer: 0, head: 3 });
  assert.deepEqual(s.choice(), {
    heads: [
      { layer: 0, head: 3 },
      { layer: 2, head: 1 },
    ],
    hiddenTokens: [1, 2],
  });
  // Shown as tokens again: the word's two tokens are both hidden; one shown again, the word is still partly hidden.
  const tokens = ['a', 'b', 'c', 'd'].map((text, i) => ({ id: i, text, start: i, end: i + 1, special: false }));
  assert.deepEqual(
    s.shown({ tokens, intervention: null, predictions: null, predictionKind: null }).choice.units,
    [1, 2],
  );
  s.toggleUnit(2);
  s.toggleHead({ layer: 2, head: 1 });
  assert.deepEqual(s.choice(), { heads: [{ layer: 0, head: 3 }], hiddenTokens: [1] });
  assert.deepEqual(
    s.shown({
      tokens: tokens.slice(0, 3),
      wordMap: wordOf,
      intervention: null,
      predictions: null,
      predictionKind: null,
    }).choice.units,
    [1],
  );
  // A new result brings its own intervention (none, for a plain run).
  s.adopt({ intervention: null });
  assert.equal(s.choice(), null);
});

test('what an intervention changed, per token or word, and the loss before and after', () => {
  // Effects are recorded at the token that predicts: token j's own change is effect j−1's.
  const perToken = [
    { deltaSurprisal: 1, kl: 0.5 },
    { deltaSurprisal: -0.5, kl: 0.25 },
    { deltaSurprisal: 2, kl: 1 },
    { deltaSurprisal: null, kl: 0.1 },
  ];
  assert.deepEqual(
    unitEffects(perToken).map((e) => e.delta),
    [null, 1, -0.5, 2],
  );
  const words = unitEffects(perToken, Int32Array.from([0, 1, 1, 2]), 3);
  assert.deepEqual(
    words.map((w) => [w.delta, w.kl]),
    [
      [null, 0],
      [0.5, 0.75],
      [2, 1],
    ],
  );
  // After: logprobs ln ½ three times (loss ln 2); the mean Δ is ⅚ bit, so before was ln 2 − ⅚·ln 2 nats.
  const after = [0, 1, 2, 3].map((i) => ({ logprob: i < 3 ? Math.log(0.5) : null, top: [] }));
  const change = lossChange(after, perToken) ?? assert.fail('a loss');
  assert.ok(Math.abs(change.after - Math.LN2) < 1e-12);
  assert.ok(Math.abs(change.before - (Math.LN2 - (2.5 / 3) * Math.LN2)) < 1e-12);
  assert.ok(Math.abs(change.meanKl - 1.85 / 4) < 1e-12);
  // A masked model's effects are each token's own (no shift); a token not masked (a special, or past
  // the time) has no distribution compared and stays out of the mean KL.
  const masked = [
    { deltaSurprisal: null, kl: 0 },
    { deltaSurprisal: 1, kl: 0.5 },
    { deltaSurprisal: -0.5, kl: 0.25 },
    { deltaSurprisal: null, kl: 0 },
  ];
  assert.deepEqual(
    unitEffects(masked, undefined, undefined, 'masked').map((e) => e.delta),
    [null, 1, -0.5, null],
  );
  const maskedAfter = [null, Math.log(0.5), Math.log(0.5), null].map((logprob) => ({ logprob, top: [] }));
  const maskedChange = lossChange(maskedAfter, masked, 'masked') ?? assert.fail('a loss');
  assert.ok(Math.abs(maskedChange.before - (Math.LN2 - 0.25 * Math.LN2)) < 1e-12);
  assert.ok(Math.abs(maskedChange.meanKl - 0.375) < 1e-12);
});
