import { summarise, topK } from '../src/common/analysis';
import {
  headLabel,
  parseHostMessage,
  SUMMARY_MIN_K,
  type AttentionView,
  type HostToWebview,
  type WebviewToHost,
} from '../src/common/protocol';
import { readConfig } from './config';
import { PageTimeline } from './timeline';
import { Controls } from './controls';
import { EngineBrokenError, EngineClient, EngineStoppedError, type EngineResult, type LoadProgress } from './engine-client';
import type { Focus } from './views/focus';
import { HeadView } from './views/head-view';
import { visibleToken } from './views/labels';
import { MatrixView } from './views/matrix-view';
import { TokenStrip } from './views/token-strip';

type AnalyzeMessage = Extract<HostToWebview, { type: 'analyze' }>;

/** What survives a reload of the webview (VS Code keeps it with the panel). */
interface SavedState {
  request?: AnalyzeMessage;
  view: AttentionView;
  tab: number;
  colourByHead: boolean;
  pinned: number | null;
}

const timeline = new PageTimeline();
timeline.mark('script');
const vscode = acquireVsCodeApi<SavedState>();
const post = (m: WebviewToHost): void => vscode.postMessage(m);
const config = readConfig();
const engine = new EngineClient(config, timeline, showLoad, (file) => post({ type: 'readFile', file }));

let saved: SavedState = vscode.getState() ?? { view: { layer: 0, head: 'mean' }, tab: 0, colourByHead: false, pinned: null };
let result: (EngineResult & { requestId: number; topK: number; source: string }) | undefined;
let focus: Focus | null = null;
let stale = false;
/** The request the engine is working on, and the next one (a newer request replaces it). */
let inFlight: AnalyzeMessage | null = null;
let waiting: AnalyzeMessage | null = null;
/** The engine's load, while it lasts: shown until the model is ready. */
let loadText: string | null = null;
/** Why the host reloaded this page (shown with the first result, then dropped). */
let pageNotice = config.notice;

// ---- layout ----
const app = document.getElementById('app')!;
const header = el('div', 'run-header');
const notices = el('div', 'notices');
const progress = el('div', 'progress');
const controls = new Controls(
  (view) => setView(view),
  (on) => {
    saved.colourByHead = on;
    save();
    render();
  },
);
const details = el('div', 'details');
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
body.append(controls.element, details, strip.element, tabs);
app.append(header, notices, progress, body);
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

function setBusy(message: string | null): void {
  const shown = message ?? loadText;
  if (!shown) {
    progress.replaceChildren();
    return;
  }
  // The ring is kept across updates: replacing it many times a second would restart its animation.
  let ring = progress.querySelector('vscode-progress-ring');
  let label = progress.querySelector<HTMLSpanElement>('.progress-text');
  if (!ring || !label) {
    ring = document.createElement('vscode-progress-ring');
    label = document.createElement('span');
    label.className = 'progress-text';
    progress.replaceChildren(ring, label);
  }
  label.textContent = shown;
}

const MB = (n: number): string => (n / 1e6).toFixed(1);

/** The engine's loading stage, with the megabytes fetched, until the model is ready. */
function showLoad(p: LoadProgress): void {
  const what: Record<LoadProgress['stage'], string> = {
    fetch: p.total ? `Loading the model and the runtime: ${MB(p.fetched)} of ${MB(p.total)} MB…` : p.fetched ? `Loading the model and the runtime: ${MB(p.fetched)} MB so far…` : 'Loading the model and the runtime…',
    runtime: 'Starting the runtime…',
    tokenizer: 'Loading the tokenizer…',
    surgery: 'Preparing the graph (exposing each layer\'s attention)…',
    session: 'Creating the inference session…',
    'warm-up': 'Compiling the model (one short run)…',
  };
  loadText = what[p.stage];
  setBusy(inFlight ? null : loadText);
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
  const m = result.model;
  header.textContent = `${m.name} · ${result.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'} · ${result.runMs.toFixed(0)} ms · ${result.tokens.length} tokens · ${m.layers} layers × ${m.heads} heads · ${m.causal ? 'causal (decoder): each token sees only earlier ones' : 'full (encoder) attention'}`;
  header.title = `source: ${result.source}`;
  const list: HTMLDivElement[] = [];
  if (stale) list.push(notice('warning', 'The text changed since this analysis: the attention shown is for the old text. Run Show Attention again to refresh.'));
  if (result.backendNote) list.push(notice('warning', result.backendNote));
  if (result.truncated) {
    list.push(notice('warning', `Only the first ${result.tokens.length} tokens were analysed (attentionExplorer.maxTokens); the rest of the selection was left out.`));
  }
  if (result.windows > 1) {
    // The specials the windows were given again, as the engine planned them.
    const t = result.tokens;
    const named = (side: 'lead' | 'trail'): string => (result?.store.windows.find((w) => w[side]?.length)?.[side] ?? []).map((i) => t[i].text).join(' ');
    const opens = named('lead') && `begins with ${named('lead')}`;
    const closes = named('trail') && `ends with ${named('trail')}`;
    const again = opens || closes ? ` Every window ${[opens, closes].filter(Boolean).join(' and ')}, as the model expects.` : '';
    list.push(notice('info', `The text is longer than the model's ${m.context}-token context: it was analysed in ${result.windows} windows overlapping by a quarter; attention never crosses a window.${again}`));
  }
  notices.replaceChildren(...list);
}

function renderDetails(): void {
  details.replaceChildren();
  if (!result || !focus) {
    details.textContent = 'Hover a token to see what it attends to; click to pin it.';
    details.classList.add('hint');
    return;
  }
  details.classList.remove('hint');
  const r = result;
  const view = saved.view;
  const i = focus.index;
  const row = r.store.row(view.layer, view.head, i);
  const attends = topK(row.weights, r.topK, row.keyStart);
  const column = new Float32Array(r.tokens.length);
  for (let q = 0; q < r.tokens.length; q++) column[q] = r.store.weight(view.layer, view.head, q, i);
  const by = topK(column, r.topK);
  const title = el('div', 'details-title');
  title.textContent = `“${visibleToken(r.tokens[i].text)}” (token ${i}) — layer ${view.layer}, ${headLabel(view.head)}`;
  const list = (name: string, items: { index: number; weight: number }[]): HTMLDivElement => {
    const d = el('div', 'details-list');
    const h = el('span', 'details-name');
    h.textContent = name;
    d.append(h);
    for (const w of items) {
      const s = el('span', 'details-item');
      s.textContent = `${visibleToken(r.tokens[w.index].text)} ${w.weight.toFixed(2)}`;
      s.dataset.index = String(w.index);
      d.append(s);
    }
    return d;
  };
  details.append(title, list('attends to', attends), list('attended by', by));
}

function render(): void {
  if (!result) return;
  body.hidden = false;
  renderHeader();
  controls.set(result.model.layers, result.model.heads, saved.view, saved.colourByHead);
  if ((tabs as unknown as { selectedIndex: number }).selectedIndex !== saved.tab) (tabs as unknown as { selectedIndex: number }).selectedIndex = saved.tab;
  renderDetails();
  strip.render(result.store, saved.view, focus);
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

/** A request from the host: run now, or wait for the one in flight (replacing an older waiting one). */
function request(m: AnalyzeMessage): void {
  if (inFlight) {
    if (waiting) post({ type: 'superseded', requestId: waiting.requestId });
    waiting = m;
    return;
  }
  void analyze(m);
}

async function analyze(m: AnalyzeMessage): Promise<void> {
  const received = performance.now();
  timeline.mark('request', true);
  inFlight = m;
  if (!result) notices.replaceChildren();
  setBusy(loadText ?? 'Running the model…');
  post({ type: 'progress', requestId: m.requestId, message: 'running the model' });
  try {
    await engine.prepare(m.settings.backend).catch(() => undefined); // its error is the analysis's
    loadText = null;
    if (waiting) {
      // A newer request arrived while the model loaded: it runs instead of this one.
      post({ type: 'superseded', requestId: m.requestId });
      return;
    }
    setBusy('Running the model…');
    const analysed = await engine.analyse(m.requestId, m.text, m.settings.backend, m.settings.maxTokens);
    show(m, analysed, received);
  } catch (e) {
    failed(m, e as Error);
  } finally {
    loadText = null;
    inFlight = null;
    setBusy(null);
    const next = waiting;
    waiting = null;
    if (next) void analyze(next);
  }
}

function show(m: AnalyzeMessage, analysed: EngineResult, received: number): void {
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
      request({ ...m, settings: { ...m.settings, maxTokens: smaller } });
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
      request(m);
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
engine.prepare(restarted ? config.backend : saved.request?.settings.backend ?? config.backend).catch(() => undefined);
if (saved.request && !restarted) request(saved.request);
// The panel closing ends the worker with the page; said here too, so that nothing keeps running.
window.addEventListener('pagehide', () => engine.stop(new Error('the panel was closed')));
post({ type: 'ready' });
timeline.mark('ready');
