/**
 * The one protocol between the extension host and the webview. Both sides import these types;
 * every message is validated on receipt (`parseHostMessage`, `parseWebviewMessage`) because a
 * webview message is untrusted input, whatever its sender meant.
 */

export type Backend = 'webgpu' | 'wasm';
export type BackendSetting = 'auto' | Backend;
/** A head index (0-based), or an aggregate over all heads of the layer. */
export type HeadChoice = number | 'mean' | 'max';

export interface AttentionView {
  layer: number;
  head: HeadChoice;
}

export interface TokenInfo {
  id: number;
  /** What the token shows: its slice of the text, or its vocabulary entry when it covers none. */
  text: string;
  /** UTF-16 offsets into the analysed text; start === end for a token that covers no character. */
  start: number;
  end: number;
  special: boolean;
}

export interface Weighted {
  index: number;
  weight: number;
}

/** For one token: the tokens it attends to most, and the tokens that attend to it most. */
export interface TokenSummary {
  attends: Weighted[];
  attendedBy: Weighted[];
}

export interface ModelInfo {
  name: string;
  layers: number;
  heads: number;
  context: number;
  causal: boolean;
  layerNames: string[];
}

/**
 * Summaries list at least this many tokens each way, whatever the hover's top-k: the editor's
 * shading shows more of the row than the hover lists.
 */
export const SUMMARY_MIN_K = 16;

export interface AnalyzeSettings {
  backend: BackendSetting;
  maxTokens: number;
  topK: number;
}

export type HostToWebview =
  | {
      type: 'analyze';
      requestId: number;
      text: string;
      /** Where the text came from, shown in the panel's header. */
      source: string;
      /**
       * The document and offset the text starts at. The webview only keeps it (in its saved
       * state) so that a restored panel lets the host map tokens back onto the document.
       */
      origin: { uri: string; offset: number };
      settings: AnalyzeSettings;
    }
  | { type: 'setView'; view: AttentionView }
  | { type: 'revealToken'; index: number }
  | { type: 'setStale'; stale: boolean }
  | { type: 'clear' }
  /** A file the page asked for (`readFile`), read by the host: the model's bytes, the runtime's. */
  | { type: 'file'; file: PageFile; data: Uint8Array }
  | { type: 'fileError'; file: PageFile; message: string };

/**
 * The files the page may ask the host for, by role: the graph, the runtime's two WebAssembly
 * builds, and the external data files the graph names (`external:NAME`, NAME inside the graph's
 * folder). Nothing else can be named.
 */
export type PageFile = 'model' | 'runtime:wasm' | 'runtime:webgpu' | `external:${string}`;

export function isPageFile(v: unknown): v is PageFile {
  if (v === 'model' || v === 'runtime:wasm' || v === 'runtime:webgpu') return true;
  if (typeof v !== 'string' || !v.startsWith('external:')) return false;
  const name = v.slice('external:'.length);
  return name.length > 0 && !name.split(/[\\/]/).some((part) => part === '..' || part === '') && !/^[a-zA-Z]:|^[\\/]/.test(name);
}

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'readFile'; file: PageFile }
  | { type: 'progress'; requestId: number; message: string }
  | {
      type: 'result';
      requestId: number;
      backend: Backend;
      /** Set when the run did not use the backend asked for, and why. */
      backendNote: string | null;
      runMs: number;
      model: ModelInfo;
      tokens: TokenInfo[];
      /** The part of the request's text that was analysed, in UTF-16 offsets. */
      analysed: { start: number; end: number };
      truncated: boolean;
      windows: number;
      view: AttentionView;
      summaries: TokenSummary[];
    }
  | { type: 'summary'; requestId: number; view: AttentionView; summaries: TokenSummary[] }
  | { type: 'focusToken'; requestId: number; index: number | null }
  /** A newer request arrived before this one started: it will not run. */
  | { type: 'superseded'; requestId: number }
  | { type: 'error'; requestId: number | null; message: string }
  /**
   * The page's runtime can run nothing more (a WebGPU device lost in the middle of a run): the
   * host reloads the page on WebAssembly and sends the request again.
   */
  | { type: 'restart'; requestId: number | null; reason: string };

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

export function isHeadChoice(v: unknown): v is HeadChoice {
  return v === 'mean' || v === 'max' || isInt(v);
}
function isView(v: unknown): v is AttentionView {
  return isObj(v) && isInt(v.layer) && isHeadChoice(v.head);
}
function isWeightedList(v: unknown): v is Weighted[] {
  return Array.isArray(v) && v.every((w) => isObj(w) && isInt(w.index) && isNum(w.weight));
}
function isSummaries(v: unknown): v is TokenSummary[] {
  return Array.isArray(v) && v.every((s) => isObj(s) && isWeightedList(s.attends) && isWeightedList(s.attendedBy));
}
function isToken(v: unknown): v is TokenInfo {
  return (
    isObj(v) && isInt(v.id) && isStr(v.text) && isInt(v.start) && isInt(v.end) && v.end >= v.start &&
    typeof v.special === 'boolean'
  );
}
function isModelInfo(v: unknown): v is ModelInfo {
  return (
    isObj(v) && isStr(v.name) && isInt(v.layers, 1) && isInt(v.heads, 1) && isInt(v.context, 1) &&
    typeof v.causal === 'boolean' && Array.isArray(v.layerNames) && v.layerNames.every(isStr)
  );
}
const isBackend = (v: unknown): v is Backend => v === 'webgpu' || v === 'wasm';
const isBackendSetting = (v: unknown): v is BackendSetting => v === 'auto' || isBackend(v);

function describe(v: unknown): string {
  if (!isObj(v)) return `a message must be an object, got ${Array.isArray(v) ? 'an array' : typeof v}`;
  return `malformed "${String(v.type)}" message`;
}

/** Validates a message the webview received from the host. */
export function parseHostMessage(v: unknown): Parsed<HostToWebview> {
  if (isObj(v)) {
    switch (v.type) {
      case 'analyze': {
        const s = v.settings;
        const o = v.origin;
        if (
          isInt(v.requestId) && isStr(v.text) && isStr(v.source) && isObj(o) && isStr(o.uri) && isInt(o.offset) &&
          isObj(s) && isBackendSetting(s.backend) &&
          isInt(s.maxTokens, 1) && isInt(s.topK, 1)
        ) {
          return { ok: true, message: v as HostToWebview };
        }
        break;
      }
      case 'setView':
        if (isView(v.view)) return { ok: true, message: { type: 'setView', view: v.view } };
        break;
      case 'revealToken':
        if (isInt(v.index)) return { ok: true, message: { type: 'revealToken', index: v.index } };
        break;
      case 'setStale':
        if (typeof v.stale === 'boolean') return { ok: true, message: { type: 'setStale', stale: v.stale } };
        break;
      case 'clear':
        return { ok: true, message: { type: 'clear' } };
      case 'file':
        // VS Code delivers a posted Uint8Array as one, or as its ArrayBuffer.
        if (isPageFile(v.file) && (v.data instanceof Uint8Array || v.data instanceof ArrayBuffer)) {
          const data = v.data instanceof ArrayBuffer ? new Uint8Array(v.data) : v.data;
          return { ok: true, message: { type: 'file', file: v.file, data } };
        }
        break;
      case 'fileError':
        if (isPageFile(v.file) && isStr(v.message)) return { ok: true, message: { type: 'fileError', file: v.file, message: v.message } };
        break;
      default:
        return { ok: false, error: `unknown message type "${String(v.type)}"` };
    }
  }
  return { ok: false, error: describe(v) };
}

/** Validates a message the host received from the webview. */
export function parseWebviewMessage(v: unknown): Parsed<WebviewToHost> {
  if (isObj(v)) {
    switch (v.type) {
      case 'ready':
        return { ok: true, message: { type: 'ready' } };
      case 'readFile':
        if (isPageFile(v.file)) return { ok: true, message: { type: 'readFile', file: v.file } };
        break;
      case 'progress':
        if (isInt(v.requestId) && isStr(v.message)) return { ok: true, message: v as WebviewToHost };
        break;
      case 'result': {
        const a = v.analysed;
        if (
          isInt(v.requestId) && isBackend(v.backend) && (v.backendNote === null || isStr(v.backendNote)) &&
          isNum(v.runMs) && isModelInfo(v.model) && Array.isArray(v.tokens) && v.tokens.every(isToken) &&
          isObj(a) && isInt(a.start) && isInt(a.end) && typeof v.truncated === 'boolean' && isInt(v.windows) &&
          isView(v.view) && isSummaries(v.summaries) && v.summaries.length === v.tokens.length
        ) {
          return { ok: true, message: v as WebviewToHost };
        }
        break;
      }
      case 'summary':
        if (isInt(v.requestId) && isView(v.view) && isSummaries(v.summaries)) {
          return { ok: true, message: v as WebviewToHost };
        }
        break;
      case 'superseded':
        if (isInt(v.requestId)) return { ok: true, message: { type: 'superseded', requestId: v.requestId } };
        break;
      case 'focusToken':
        if (isInt(v.requestId) && (v.index === null || isInt(v.index))) return { ok: true, message: v as WebviewToHost };
        break;
      case 'error':
        if ((v.requestId === null || isInt(v.requestId)) && isStr(v.message)) {
          return { ok: true, message: v as WebviewToHost };
        }
        break;
      case 'restart':
        if ((v.requestId === null || isInt(v.requestId)) && isStr(v.reason)) {
          return { ok: true, message: { type: 'restart', requestId: v.requestId, reason: v.reason } };
        }
        break;
      default:
        return { ok: false, error: `unknown message type "${String(v.type)}"` };
    }
  }
  return { ok: false, error: describe(v) };
}

export function headLabel(head: HeadChoice): string {
  return head === 'mean' ? 'all heads (mean)' : head === 'max' ? 'all heads (max)' : `head ${head}`;
}

/** What the host puts into the panel's page: where the model, tokenizer and runtime files are. */
export interface WebviewConfig {
  modelName: string;
  /** The graph; external data files are loaded from the same folder. */
  modelUrl: string;
  tokenizerUrl: string;
  configUrl: string | null;
  tokenizerConfigUrl: string | null;
  /**
   * Where the page gets the graph and the runtime's WebAssembly: asked of the host (`readFile`,
   * the bytes posted back) or fetched by URL. The host's way was measured the faster in
   * code-server (README, Performance); pages served without a host (the engine tests) fetch.
   */
  bytesFrom: 'host' | 'url';
  /** The graph file's size in bytes (0 when unknown): a large graph is fetched by URL, streamed. */
  modelBytes: number;
  /** SHA-256 of the graph file: the key of its prepared graph in the panel's cache (null: not cached). */
  modelHash: string | null;
  /** Identifies the runtime's WebAssembly files (they are cached under it). */
  runtimeKey: string;
  /** Empty the panel's cache before loading (asked for in Manage Model Cache). */
  clearCache: boolean;
  /** URL prefix (ending in '/') of the page's own folder: the engine's workers and, under ort/, onnxruntime-web's .wasm files. */
  engineBase: string;
  /** The backend setting at page load, to create the session before the first request. */
  backend: BackendSetting;
  /** Why the page was reloaded, when the host reloaded it to recover (shown with its first result). */
  notice: string | null;
}
