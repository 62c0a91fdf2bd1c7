import { summarise } from '../src/common/analysis';
import {
  parseHostMessage,
  SUMMARY_MIN_K,
  type AttentionView,
  type WebviewToHost,
} from '../src/common/protocol';
import { readConfig } from './config';
import { describeLoad, ProgressLine } from './progress-line';
import { RequestQueue } from './request-queue';
import { runNotices, runSummary } from './run-notices';
import { restoreState, type AnalyzeMessage, type SavedState } from './saved-state';
import { PageTimeline } from './timeline';
import { Controls } from './controls';
import { EngineBrokenError, EngineClient, EngineStoppedError, type EngineResult } from './engine-client';
import type { Focus } from './views/focus';
import { HeadView } from './views/head-view';
import { DetailsView } from './views/details';
import { MatrixView } from './views/matrix-view';
import { TokenStrip } from './views/token-strip';


const timeline = new PageTimeline();
timeline.mark('script');
const vscode = acquireVsCodeApi<SavedState>();
const post = (m: WebviewToHost): void => vscode.postMessage(m);
const config = readConfig();
const progress = new ProgressLine();
const engine = new EngineClient(config, timeline, (p) => progress.load(describeLoad(p)), (file) => post({ type: 'readFile', file }));
const queue = new RequestQueue<AnalyzeMessage>(analyze, (m) => post({ type: 'superseded', requestId: m.requestId }));

let saved: SavedState = restoreState(vscode.getState());
let result: (EngineResult & { requestId: number; topK: number; source: string }) | undefined;
let focus: Focus | null = null;
let stale = false;
/** Why the host reloaded this page (shown with the first result, then dropped). */
let pageNotice = config.notice;

// ---- layout ----
const app = document.getElementById('app')!;
const header = el('div', 'run-header');
const notices = el('div', 'notices');
const controls = new Controls(
  (view) => setView(view),
  (on) => {
    saved.colourByHead = on;
    save();
    render();
  },
);
const details = new DetailsView();
const strip = new TokenStrip(onFocus, onLeave);
const headView = new HeadView(onFocus, onLeave);
const matrixView = new MatrixView(onFocus, onLeave);
const tabs = document.createElement('vscode-tabs');
tabs.id = 'view-tabs';
const tabHead = (text: string): HTMLElement => {
  const h = document.createElement('vscode-tab-header');
  h.setAttribute('slot', 'header');
  h.textContent = text;
  return h;
};
const tabPanel = (child: HTMLElement): HTMLElement => {
  const p = document.createElement('vscode-tab-panel');
  p.append(child);
  return p;
};
tabs.append(tabHead('Head view'), tabPanel(headView.element), tabHead('Matrix'), tabPanel(matrixView.element));
tabs.addEventListener('vsc-tabs-select', (e) => {
  saved.tab = e.detail.selectedIndex;
  save();
  render();
});
const body = el('div', 'result');
body.append(controls.element, details.element, strip.element, tabs);
app.append(header, notices, progress.element, body);
showEmpty();

function el(tag: string, className: string): HTMLDivElement {
  const e = document.createElement(tag) as HTMLDivElement;
  e.className = className;
  return e;
}
function save(): void {
  vscode.setState(saved);
}

function showEmpty(): void {
  header.textContent = `${config.modelName}`;
  body.hidden = true;
  notices.replaceChildren(notice('info', 'Select code or prose in the editor and run “Attention Explorer: Show Attention for Selection” (Ctrl+Alt+A).'));
}

function notice(kind: 'info' | 'warning' | 'error', text: string): HTMLDivElement {
  const n = el('div', `notice ${kind}`);
  n.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  n.textContent = text;
  return n;
}

// ---- focus ----
function onFocus(index: number, side: 'query' | 'key', click: boolean): void {
  if (!result) return;
  if (click) {
    const unpin = focus?.pinned && focus.index === index && focus.side === side;
    focus = unpin ? null : { index, side, pinned: true };
    saved.pinned = focus ? index : null;
    save();
  } else {
    if (focus?.pinned) return;
    if (focus?.index === index && focus.side === side) return;
    focus = { index, side, pinned: false };
  }
  post({ type: 'focusToken', requestId: result.requestId, index: focus ? focus.index : null });
  render();
}
function onLeave(): void {
  if (focus && !focus.pinned) {
    focus = null;
    if (result) post({ type: 'focusToken', requestId: result.requestId, index: null });
    render();
  }
}

// ---- rendering ----
function renderHeader(): void {
  if (!result) return;
  header.textContent = runSummary(result);
  header.title = `source: ${result.source}`;
  notices.replaceChildren(...runNotices(result, stale).map((n) => notice(n.kind, n.text)));
}

function render(): void {
  renderChrome();
  renderView();
}

/** Everything but the view's canvas: header, notices, controls, details, the token strip. */
function renderChrome(): void {
  if (!result) return;
  body.hidden = false;
  renderHeader();
  controls.set(result.model.layers, result.model.heads, saved.view, saved.colourByHead);
  if ((tabs as unknown as { selectedIndex: number }).selectedIndex !== saved.tab) (tabs as unknown as { selectedIndex: number }).selectedIndex = saved.tab;
  details.render(result, saved.view, focus);
  strip.render(result.store, saved.view, focus);
}

/** The head view or the matrix, whichever tab is open. */
function renderView(): void {
  if (!result) return;
  const state = { tokens: result.tokens, store: result.store, view: saved.view, focus };
  if (saved.tab === 0) headView.render({ ...state, colourByHead: saved.colourByHead });
  else matrixView.render(state);
}

/** Shows another layer/head and tells the host, whose hover and decorations follow it. */
function setView(view: AttentionView): void {
  if (!result) {
    saved.view = view;
    save();
    return;
  }
  const layer = Math.min(view.layer, result.model.layers - 1);
  const head = typeof view.head === 'number' && view.head >= result.model.heads ? 'mean' : view.head;
  saved.view = { layer, head };
  save();
  render();
  post({ type: 'summary', requestId: result.requestId, view: saved.view, summaries: summarise(result.store, saved.view, Math.max(SUMMARY_MIN_K, result.topK)) });
}

// ---- requests ----

async function analyze(m: AnalyzeMessage): Promise<void> {
  const received = performance.now();
  timeline.mark('request', true);
  if (!result) notices.replaceChildren();
  post({ type: 'progress', requestId: m.requestId, message: 'running the model' });
  try {
    await engine.prepare(m.settings.backend).catch(() => undefined); // its error is the analysis's
    progress.load(null);
    // A newer request arrived while the model loaded: it runs instead of this one.
    if (queue.overtaken()) return;
    progress.say('Running the model…');
    const analysed = await engine.analyse(m.requestId, m.text, m.settings.backend, m.settings.maxTokens);
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
async function show(m: AnalyzeMessage, analysed: EngineResult, received: number): Promise<void> {
  const r = { ...analysed, backendNote: [pageNotice, analysed.backendNote].filter(Boolean).join(' ') || null };
  pageNotice = null;
  result = { ...r, requestId: m.requestId, topK: m.settings.topK, source: m.source };
  stale = false;
  saved.request = m;
  const pinned = saved.pinned;
  focus = pinned !== null && pinned < r.tokens.length ? { index: pinned, side: 'query', pinned: true } : null;
  if (saved.view.layer >= r.model.layers) saved.view = { layer: 0, head: 'mean' };
  if (typeof saved.view.head === 'number' && saved.view.head >= r.model.heads) saved.view = { ...saved.view, head: 'mean' };
  save();
  const t0 = performance.now();
  strip.setTokens(r.tokens);
  render();
  const drawMs = performance.now() - t0;
  timeline.mark('painted', true);
  await nextTask();
  const t1 = performance.now();
  const summaries = summarise(r.store, saved.view, Math.max(SUMMARY_MIN_K, m.settings.topK));
  const summariseMs = performance.now() - t1;
  post({
    type: 'result',
    requestId: m.requestId,
    backend: r.backend,
    backendNote: r.backendNote,
    runMs: r.runMs,
    model: r.model,
    tokens: r.tokens,
    analysed: { start: 0, end: r.analysedEnd },
    truncated: r.truncated,
    windows: r.windows,
    view: saved.view,
    summaries,
  });
  // Every stage, for the benchmark and the tests (the page's own clock).
  document.body.dataset.drawMs = drawMs.toFixed(1);
  document.body.dataset.timings = JSON.stringify({ ...r.timings, draw: drawMs, summarise: summariseMs, total: performance.now() - received });
  timeline.span('tokenize', r.timings.tokenize ?? NaN);
  timeline.span('run', r.timings.run ?? NaN);
  timeline.span('draw', drawMs);
  timeline.span('summarise', summariseMs);
  timeline.mark('result', true);
  timeline.collectResources();
  document.body.dataset.resultId = String(m.requestId);
}

/** Out of memory, or the worker gone: a smaller maxTokens may fit. */
const looksLikeMemory = (e: Error): boolean => e instanceof EngineStoppedError || /memory|allocat|out of bounds|abort/i.test(e.message);

function failed(m: AnalyzeMessage, e: Error): void {
  const message = e.message || String(e);
  if (e instanceof EngineBrokenError) {
    // Nothing more can run in this page: the host reloads it and sends the request again.
    notices.prepend(notice('warning', `${message.charAt(0).toUpperCase()}${message.slice(1)}: restarting the panel on WebAssembly…`));
    post({ type: 'restart', requestId: m.requestId, reason: message });
    return;
  }
  // The previous result stays on screen: the error is shown above it.
  const n = notice('error', `Could not analyse the selection: ${message}`);
  const smaller = Math.max(1, Math.floor(m.settings.maxTokens / 2));
  if (looksLikeMemory(e) && m.settings.maxTokens > 1) {
    const retry = document.createElement('vscode-button');
    retry.className = 'retry';
    retry.textContent = `Retry with at most ${smaller} tokens`;
    retry.addEventListener('click', () => {
      n.remove();
      queue.submit({ ...m, settings: { ...m.settings, maxTokens: smaller } });
    });
    n.append(' ', retry);
  }
  notices.prepend(n);
  post({ type: 'error', requestId: m.requestId, message });
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = parseHostMessage(event.data);
  if (!parsed.ok) {
    console.warn(`Attention Explorer: ignored a message from the host: ${parsed.error}`);
    return;
  }
  const m = parsed.message;
  switch (m.type) {
    case 'analyze':
      queue.submit(m);
      break;
    case 'setView':
      setView(m.view);
      break;
    case 'revealToken':
      if (result && m.index < result.tokens.length) {
        focus = { index: m.index, side: 'query', pinned: true };
        saved.pinned = m.index;
        save();
        render();
        strip.reveal(m.index);
        headView.reveal(m.index);
      }
      break;
    case 'setStale':
      stale = m.stale;
      renderHeader();
      break;
    case 'file':
    case 'fileError':
      engine.receiveFile(m);
      break;
    case 'clear':
      focus = null;
      saved.pinned = null;
      save();
      render();
      break;
  }
});

window.addEventListener('resize', () => render());
// Create the session ahead of the first request; errors surface when a request runs.
// A page the host reloaded to recover gets its request from the host, on the backend it names.
const restarted = config.notice !== null;
engine
  .prepare(restarted ? config.backend : saved.request?.settings.backend ?? config.backend)
  .catch(() => undefined)
  .finally(() => progress.load(null));
if (saved.request && !restarted) queue.submit(saved.request);
// The panel closing ends the worker with the page; said here too, so that nothing keeps running.
window.addEventListener('pagehide', () => engine.stop(new Error('the panel was closed')));
post({ type: 'ready' });
timeline.mark('ready');
