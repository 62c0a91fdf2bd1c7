/**
 * The panel's page: its state, the host's messages, and the requests. The layout
 * (panel-layout.ts), the views (views/) and the engine (engine-client.ts, in a worker) do the rest.
 */
import { summarise, topK } from '../src/common/analysis';
import { INITIAL_STATE, restoreState, TAB, type PanelState } from '../src/common/panel-state';
import {
  SUMMARY_MIN_K,
  type AnalyseRequest,
  type AttentionView,
  type HostToWebview,
  type InterventionChoice,
  type WebviewToHost,
} from '../src/common/protocol';
import { unreachable } from '../src/common/validate';
import { parseHostMessage } from '../src/common/protocol-validation';
import { readConfig } from './config';
import { wordOf, wordStore, wordTokens } from '../src/common/word-level';
import { shownPredictions, tokenSurprisal, wordSurprisal } from '../src/common/surprisal';
import { EngineClient, type EngineResult } from './engine-client';
import { EngineBrokenError } from './engine-worker-start';
import { failureNotice } from './failure-notice';
import { exportBytes } from './export-view';
import type { ExportFormat } from '../src/common/export-formats';
import { notice, PanelLayout } from './panel-layout';
import { describeLoad, ProgressLine } from './progress-line';
import { RequestQueue } from './request-queue';
import { PageTimeline } from './timeline';
import { focusAfter, focusAfterKey, focusAfterLeave, type Focus } from './views/focus';
import { InterventionState } from './intervention-state';
import { CompareResults } from './compare-results';
import { HeadScoring } from './head-scoring';
import { ResultRestore } from './result-restore';
import { practiceResult } from './first-display';
import { describeIntervention, tokensOfUnits, unitsOfTokens } from '../src/common/intervention-display';
import { visibleToken } from '../src/common/token-display';

/** A result as shown: with whole words, `wordMap` gives the word of each of the engine's tokens. */
type ShownResult = EngineResult & {
  requestId: number;
  topK: number;
  source: string;
  /** Per shown token (per word, in words), in bits, when predictions are on. */
  surprisal?: (number | null)[];
  wordMap?: Int32Array;
};

const timeline = new PageTimeline();
timeline.mark('script');
const vscode = acquireVsCodeApi<PanelState>();
const post = (m: WebviewToHost): void => vscode.postMessage(m);
const config = readConfig();
const progress = new ProgressLine();
const engine = new EngineClient(
  config,
  timeline,
  (p) => progress.load(describeLoad(p)),
  (file) => post({ type: 'readFile', file }),
);
const queue = new RequestQueue<AnalyseRequest>(analyse, (m) => post({ type: 'superseded', requestId: m.requestId }));

let saved: PanelState = restoreState(vscode.getState());
/** The engine's result (tokens), and what the panel shows of it (tokens, or whole words). */
let tokenResult: ShownResult | undefined;
let result: ShownResult | undefined;
let focus: Focus | null = null;
let stale = false;
const intervention = new InterventionState();
const comparing = new CompareResults();
const restorer = new ResultRestore(config.modelHash);
/** Why the host reloaded this page (shown with the first result, then dropped). */
let pageNotice = config.notice;

// Create the session ahead of the first request, before the layout is built, so that its files
// are asked for first; errors surface when a request runs. A page the host reloaded to recover
// gets its request from the host, on the backend it names.
const restarted = config.notice !== null;
engine
  .prepare(
    restarted ? config.backend : (saved.request?.settings.backend ?? config.backend),
    saved.request?.settings.predictions ?? false,
  )
  .catch(() => undefined)
  .finally(() => progress.load(null));

const layout = new PanelLayout(document.getElementById('app')!, progress.element, {
  view: (view) => setView(view),
  colourByHead: (on) => changeState({ colourByHead: on }),
  words: (on) => setWords(on),
  tab: (tab) => changeState({ tab }),
  export: () => post({ type: 'exportAsked' }),
  pickHead: (view) => {
    changeState({ tab: TAB.head });
    setView(view);
  },
  focus: (index, side, click) => setFocus(focusAfter(focus, index, side, click)),
  leave: () => setFocus(focusAfterLeave(focus)),
  queryKey: (ids, layer) => engine.queryKey(ids, layer),
  redraw: () => render(),
  intervene: (on) => {
    intervention.editing = on;
    render();
  },
  toggleHead: (head) => {
    intervention.toggleHead(head);
    render();
  },
  toggleUnit: (unit) => {
    intervention.toggleUnit(unit, result?.wordMap);
    render();
  },
  intervention: {
    run: () => runWith(intervention.choice()),
    remove: (what) => {
      if ('head' in what) intervention.toggleHead(what.head);
      else for (const u of what.units) intervention.toggleUnit(u, result?.wordMap);
      render();
    },
    reset: () => {
      intervention.clear();
      if (tokenResult?.intervention) runWith(null);
      else render();
    },
    pickHead: (view) => {
      changeState({ tab: TAB.head });
      setView(view);
    },
  },
});

/** The shown text again, with an intervention (null: plainly), under the same request id. */
function runWith(choice: InterventionChoice | null): void {
  if (saved.request) queue.submit({ ...saved.request, intervention: choice });
}
layout.showEmpty(config.modelName);

function changeState(change: Partial<PanelState>): void {
  saved = { ...saved, ...change };
  vscode.setState(saved);
  render();
}

const scoring = new HeadScoring<ShownResult>(
  (r) => {
    if (result === r && saved.tab === TAB.heads) render();
  },
  () => nextTask(),
  (ms) => timeline.span('head scores', ms),
);

function render(): void {
  if (!result) return;
  const shownIntervention = intervention.shown(result);
  layout.render({
    result,
    compare: () => comparing.shown(saved.view)!,
    heads: () => scoring.now(result!),
    state: saved,
    focus,
    stale,
    intervention: shownIntervention,
  });
}

/** The result as shown: itself, or (`words`) its word-level version, made once per result. */
let merged: { from: ShownResult; words: ShownResult } | undefined;
function displayed(r: ShownResult, words: boolean): ShownResult {
  if (!words) return r;
  if (merged?.from !== r) {
    const t0 = performance.now();
    const words = wordOf(r.tokens);
    const tokens = wordTokens(r.tokens, words);
    const surprisal = r.predictions
      ? wordSurprisal(tokenSurprisal(r.predictions, r.predictionKind ?? undefined), words, tokens.length)
      : undefined;
    merged = {
      from: r,
      words: { ...r, tokens, store: wordStore(r.store, words), surprisal, wordMap: words },
    };
    timeline.span('word level', performance.now() - t0);
  }
  return merged.words;
}

/**
 * Tokens or whole words: the panel redraws, and the host is sent the result again in the new
 * units, so that the hover and the editor's shading follow. A pinned token does not survive it.
 */
function setWords(on: boolean): void {
  focus = null;
  if (tokenResult) {
    result = displayed(tokenResult, on);
    layout.setTokens(result);
  }
  changeState({ words: on, pinned: null });
  if (result) postResult(result, saved.view);
}

/** Each token's top-k for the host: at least SUMMARY_MIN_K, as the editor's shading shows more than the hover lists. */
const summariesOf = (r: ShownResult, view: AttentionView): ReturnType<typeof summarise> =>
  summarise(r.store, view, Math.max(SUMMARY_MIN_K, r.topK));

/** What the host keeps of a result: the tokens with their offsets, and each one's top-k summary. */
function postResult(r: ShownResult, view: AttentionView): void {
  const summaries = summariesOf(r, view);
  const { backend, backendNote, runMs, model, tokens, truncated, windows, wordMap } = r;
  const words = wordMap && { wordOf: wordMap, count: tokens.length };
  post({
    type: 'result',
    requestId: r.requestId,
    backend,
    backendNote,
    runMs,
    model,
    tokens,
    analysed: { start: 0, end: r.analysedEnd },
    truncated,
    windows,
    view,
    summaries,
    predictions: r.predictions ? shownPredictions(r.predictions, words, r.predictionKind ?? undefined) : null,
    intervention: r.intervention
      ? describeIntervention(r.intervention.heads, unitsOfTokens(r.intervention.hiddenTokens, wordMap), (u) =>
          visibleToken(tokens[u].text),
        )
      : null,
  });
}

/** A new focus (undefined: unchanged): the views centre on it, and the editor shades its row. */
function setFocus(next: Focus | null | undefined): void {
  if (next === undefined || !result) return;
  const pinned = (f: Focus | null): number | null => (f?.pinned && f.last === undefined ? f.index : null);
  const pinChanged = pinned(next) !== pinned(focus);
  focus = next;
  tellFocus(result);
  if (pinChanged) changeState({ pinned: pinned(focus) });
  else render();
}

/** The editor shades what the focus attends to: one token's row (the host has it), or several summed. */
function tellFocus(r: ShownResult): void {
  if (focus?.last === undefined) {
    post({ type: 'focusToken', requestId: r.requestId, index: focus ? focus.index : null });
    return;
  }
  const { layer, head } = saved.view;
  const attends = topK(r.store.rowsSum(layer, head, focus.index, focus.last), Math.max(SUMMARY_MIN_K, r.topK));
  post({ type: 'rangeSummary', requestId: r.requestId, first: focus.index, last: focus.last, attends });
}

/** Shows another layer/head and tells the host, whose hover and decorations follow it. */
function setView(view: AttentionView): void {
  if (!result) {
    saved = { ...saved, view };
    vscode.setState(saved);
    return;
  }
  const layer = Math.min(view.layer, result.model.layers - 1);
  const head = typeof view.head === 'number' && view.head >= result.model.heads ? 'mean' : view.head;
  wantedView = { layer, head };
  if (head === 'rollout' && !result.store.rolloutReady) {
    void computeRollout(result, wantedView);
    return;
  }
  changeState({ view: { layer, head } });
  post({ type: 'summary', requestId: result.requestId, view: saved.view, summaries: summariesOf(result, saved.view) });
  if (focus?.last !== undefined) tellFocus(result);
}

/** The view last asked for: a rollout still being computed is shown only if it is still wanted. */
let wantedView: AttentionView | undefined;

/**
 * The rollout in slices with the page answering in between, the progress on the panel's line;
 * then the view it was asked for, unless the user has since asked for another or another result.
 */
async function computeRollout(r: ShownResult, view: AttentionView): Promise<void> {
  const t0 = performance.now();
  progress.say('Computing the attention rollout… 0%');
  await r.store.prepareRollout(async (done) => {
    progress.say(`Computing the attention rollout… ${Math.round(done * 100)}%`);
    await nextTask();
  });
  timeline.span('rollout', performance.now() - t0);
  progress.say(null);
  if (result === r && wantedView === view) setView(view);
}

async function analyse(m: AnalyseRequest): Promise<void> {
  const received = performance.now();
  timeline.mark('request', true);
  if (!result) layout.notices.replaceChildren();
  try {
    // Its error is the analysis's.
    await engine.prepare(m.settings.backend, m.settings.predictions, true).catch(() => undefined);
    progress.load(null);
    // A newer request arrived while the model loaded: it runs instead of this one.
    if (queue.overtaken()) return;
    progress.say('Running the model…');
    const analysed = await engine.analyse(
      m.requestId,
      m.text,
      m.settings.backend,
      m.settings.maxTokens,
      m.settings.predictions,
      m.intervention ?? null,
    );
    await show(m, analysed, received);
  } catch (e) {
    failed(m, e as Error);
  } finally {
    progress.load(null);
    progress.say(null);
  }
}

/** Lets the page answer (a hover, a resize) between the parts of a result's display. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Shows a result, then (in a task of its own, so that the page can answer in between) computes
 * the summaries for the host. Drawing is not split further: every yield on a main thread shared
 * with a busy workbench (code-server) cost a re-run ~25 ms (measured).
 */
async function show(m: AnalyseRequest, analysed: EngineResult, received: number, restored = false): Promise<void> {
  await layout.attach(nextTask);
  const backendNote = [pageNotice, analysed.backendNote].filter(Boolean).join(' ') || null;
  const r: ShownResult = { ...analysed, backendNote, requestId: m.requestId, topK: m.settings.topK, source: m.source };
  pageNotice = null;
  comparing.advance(r);
  tokenResult = r;
  result = displayed(r, saved.words);
  intervention.adopt(r);
  stale = false;
  const pinned = saved.pinned;
  focus = pinned !== null && pinned < result.tokens.length ? { index: pinned, side: 'query', pinned: true } : null;
  let view = saved.view;
  if (view.layer >= r.model.layers) view = INITIAL_STATE.view;
  if (typeof view.head === 'number' && view.head >= r.model.heads) view = { ...view, head: 'mean' };
  // A rollout is not computed in the way of the first paint: the mean first, the rollout when ready.
  const rollout = view.head === 'rollout' && !result.store.rolloutReady ? view : undefined;
  if (rollout) view = { ...view, head: 'mean' };
  const t0 = performance.now();
  layout.setTokens(result);
  changeState({ request: m, view });
  const drawMs = performance.now() - t0;
  timeline.mark('painted', true);
  await nextTask();
  const t1 = performance.now();
  // The words or tokens shown now (the user may have switched them during the pause).
  postResult(result, saved.view);
  if (rollout) setView(rollout);
  const summariseMs = performance.now() - t1;
  // Every stage, for the benchmark and the tests (the page's own clock).
  const total = performance.now() - received;
  document.body.dataset.drawMs = drawMs.toFixed(1);
  // A restored result's tokenize and run times are those of the page before: not this page's.
  const ran = restored ? {} : r.timings;
  document.body.dataset.timings = JSON.stringify({ ...ran, draw: drawMs, summarise: summariseMs, total });
  if (!restored) {
    timeline.span('tokenize', r.timings.tokenize ?? NaN);
    timeline.span('run', r.timings.run ?? NaN);
  }
  timeline.span('draw', drawMs);
  timeline.span('summarise', summariseMs);
  timeline.mark('result', true);
  timeline.collectResources();
  document.body.dataset.resultId = String(m.requestId);
  if (!restored) void restorer.keepSoon(analysed, m);
}

/**
 * A page VS Code restored (a window reload): its last result from the panel's cache at once,
 * while the engine loads for the next request; else its request runs again.
 */
async function restoreOrRun(request: AnalyseRequest): Promise<void> {
  const t0 = performance.now();
  // Manage Model Cache asked for an empty cache: nothing kept is shown.
  const kept = config.clearCache ? null : await restorer.read(request).catch(() => null);
  // The host sent a request in the meantime: it is newer, and runs instead.
  if (queue.busy || result) return;
  if (!kept) {
    queue.submit(request);
    return;
  }
  timeline.span("result read from the panel's cache", performance.now() - t0);
  timeline.mark('restored', true);
  await show(request, kept, t0, true);
}

function failed(m: AnalyseRequest, e: Error): void {
  const message = e.message || String(e);
  if (e instanceof EngineBrokenError) {
    // Nothing more can run in this page: the host reloads it and sends the request again.
    const shown = `${message.charAt(0).toUpperCase()}${message.slice(1)}: restarting the panel on WebAssembly…`;
    layout.notices.prepend(notice('warning', shown));
    post({ type: 'restart', requestId: m.requestId, reason: message });
    return;
  }
  // The previous result stays on screen: the error is shown above it.
  layout.notices.prepend(failureNotice(m, e, (smaller) => queue.submit(smaller)));
  post({ type: 'error', requestId: m.requestId, message });
}

async function answerExport(requestId: number, format: ExportFormat): Promise<void> {
  const r = result;
  try {
    if (r?.requestId !== requestId) throw new Error('the panel shows another result now');
    const canvas = layout.viewCanvas(saved.tab);
    const { tokens, store, model } = r;
    const modelPictures = (): ReturnType<PanelLayout['modelPictures']> => layout.modelPictures();
    const { view, tab } = saved;
    const x = { tokens, layerNames: model.layerNames, store, view, focus, tab, canvas, modelPictures };
    post({ type: 'exported', requestId, format, data: await exportBytes(format, x), error: null });
  } catch (e) {
    post({ type: 'exported', requestId, format, data: null, error: (e as Error).message });
  }
}

function onHostMessage(m: HostToWebview): void {
  switch (m.type) {
    case 'analyse':
      queue.submit(m);
      return;
    case 'setView':
      setView(m.view);
      return;
    case 'compare':
      changeState({ tab: TAB.compare });
      return;
    case 'keepResult':
      // The host is about to replace the page (Choose Model): the next page compares with this result.
      void comparing.keep().then((kept) => post({ type: 'resultKept', kept }));
      return;
    case 'intervene':
      // From the palette: what it names replaces the panel's choice, and runs.
      if (result?.requestId !== m.requestId) return;
      intervention.set(m.heads, tokensOfUnits(m.hidden, result.wordMap));
      runWith(intervention.choice());
      return;
    case 'revealToken':
      if (!result || m.index >= result.tokens.length) return;
      focus = { index: m.index, side: 'query', pinned: true };
      changeState({ pinned: m.index });
      layout.reveal(m.index);
      return;
    case 'focusTokens':
      // The editor's selection covers several tokens (or no longer does): they are the focus together.
      if (result?.requestId !== m.requestId) return;
      if (m.range && m.range.last < result.tokens.length)
        setFocus({ index: m.range.first, last: m.range.last, side: 'query', pinned: true });
      else if (!m.range && focus?.last !== undefined) setFocus(null);
      return;
    case 'setStale':
      stale = m.stale;
      if (result) layout.renderHeader({ result, stale });
      return;
    case 'file':
    case 'fileError':
      engine.receiveFile(m);
      return;
    case 'scoreHeads':
      if (result?.requestId === m.requestId)
        void scoring.of(result).then((heads) => post({ type: 'headScores', requestId: m.requestId, heads }));
      return;
    case 'export':
      void answerExport(m.requestId, m.format);
      return;
    case 'clear':
      focus = null;
      changeState({ pinned: null });
      return;
    default:
      unreachable(m, 'message from the host');
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = parseHostMessage(event.data);
  if (parsed.ok) onHostMessage(parsed.message);
  else console.warn(`Attention Explorer: ignored a message from the host: ${parsed.error}`);
});
window.addEventListener('resize', () => render());
// The keyboard moves the focused token, except where a picker, a button or the head table has it.
document.addEventListener('keydown', (e) => {
  const target = e.target as Element | null;
  if (
    !result ||
    target?.closest('vscode-single-select, vscode-checkbox, vscode-button, vscode-tab-header, .head-table, button')
  )
    return;
  const next = focusAfterKey(focus, e.key, result.tokens.length);
  if (next === undefined) return;
  e.preventDefault();
  setFocus(next);
  if (next) layout.reveal(next.index);
});
if (saved.request && !restarted) void restoreOrRun(saved.request);
// While the model loads, the views draw a made-up result unseen: the first real one draws faster.
void layout.practise(practiceResult(), INITIAL_STATE.view, nextTask);
// The panel closing ends the worker with the page; said here too, so that nothing keeps running.
window.addEventListener('pagehide', () => engine.stop(new Error('the panel was closed')));
post({ type: 'ready' });
timeline.mark('ready');
