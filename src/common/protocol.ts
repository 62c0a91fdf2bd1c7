/**
 * The one protocol between the extension host and the webview. Both sides import these types;
 * every message is validated on receipt (`parseHostMessage`, `parseWebviewMessage`) because a
 * webview message is untrusted input, whatever its sender meant. Each direction has a table with
 * one validator per message type (`validate.ts`): a new type without one does not compile.
 */
import {
  isBool,
  isInt,
  isIntOrNull,
  isNum,
  isObj,
  isStr,
  isStrOrNull,
  parseWith,
  type Parsed,
  type Validators,
} from './validate';
import { SCORE_NAMES, type HeadScoreRow } from './head-scores';

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

export interface AnalyseSettings {
  backend: BackendSetting;
  maxTokens: number;
  topK: number;
}

// ---- host → webview ----

export interface AnalyseRequest {
  type: 'analyse';
  requestId: number;
  text: string;
  /** Where the text came from, shown in the panel's header. */
  source: string;
  /**
   * The document and offset the text starts at. The webview only keeps it (in its saved state)
   * so that a restored panel lets the host map tokens back onto the document.
   */
  origin: { uri: string; offset: number };
  settings: AnalyseSettings;
}
export interface SetViewMessage {
  type: 'setView';
  view: AttentionView;
}
export interface RevealTokenMessage {
  type: 'revealToken';
  index: number;
}
export interface SetStaleMessage {
  type: 'setStale';
  stale: boolean;
}
export interface ClearMessage {
  type: 'clear';
}
/** Find Heads…: the page scores every head of the current result (`headScores` answers). */
export interface ScoreHeadsMessage {
  type: 'scoreHeads';
  requestId: number;
}
/** A file the page asked for (`readFile`), read by the host: the model's bytes, the runtime's. */
export interface FileMessage {
  type: 'file';
  file: PageFile;
  data: Uint8Array;
}
export interface FileErrorMessage {
  type: 'fileError';
  file: PageFile;
  message: string;
}

export type HostToWebview =
  | AnalyseRequest
  | SetViewMessage
  | RevealTokenMessage
  | SetStaleMessage
  | ClearMessage
  | ScoreHeadsMessage
  | FileMessage
  | FileErrorMessage;

/**
 * The files the page may ask the host for, by role: the graph and the runtime's two WebAssembly
 * builds. Nothing else can be named (external data and the tokenizer come by URL).
 */
export type PageFile = 'model' | 'runtime:wasm' | 'runtime:webgpu';

export const isPageFile = (v: unknown): v is PageFile =>
  v === 'model' || v === 'runtime:wasm' || v === 'runtime:webgpu';

// ---- webview → host ----

export interface ReadyMessage {
  type: 'ready';
}
export interface ReadFileMessage {
  type: 'readFile';
  file: PageFile;
}
export interface ResultMessage {
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
/** The summaries for another layer/head of the same result. */
export interface SummaryMessage {
  type: 'summary';
  requestId: number;
  view: AttentionView;
  summaries: TokenSummary[];
}
/** The panel's hovered or pinned token (null: none), for the editor's shading. */
export interface FocusTokenMessage {
  type: 'focusToken';
  requestId: number;
  index: number | null;
}
/** Every head's scores for a result (the answer to `scoreHeads`). */
export interface HeadScoresMessage {
  type: 'headScores';
  requestId: number;
  heads: HeadScoreRow[];
}
/** A newer request arrived before this one started: it will not run. */
export interface SupersededMessage {
  type: 'superseded';
  requestId: number;
}
export interface ErrorMessage {
  type: 'error';
  requestId: number | null;
  message: string;
}
/**
 * The page's runtime can run nothing more (a WebGPU device lost in the middle of a run): the
 * host reloads the page on WebAssembly and sends the request again.
 */
export interface RestartMessage {
  type: 'restart';
  requestId: number | null;
  reason: string;
}

export type WebviewToHost =
  | ReadyMessage
  | ReadFileMessage
  | ResultMessage
  | SummaryMessage
  | FocusTokenMessage
  | HeadScoresMessage
  | SupersededMessage
  | ErrorMessage
  | RestartMessage;

// ---- validation ----

function isHeadChoice(v: unknown): v is HeadChoice {
  return v === 'mean' || v === 'max' || isInt(v);
}
export function isView(v: unknown): v is AttentionView {
  return isObj(v) && isInt(v.layer) && isHeadChoice(v.head);
}
const isWeightedList = (v: unknown): v is Weighted[] =>
  Array.isArray(v) && v.every((w) => isObj(w) && isInt(w.index) && isNum(w.weight));
const isSummaries = (v: unknown): v is TokenSummary[] =>
  Array.isArray(v) && v.every((s) => isObj(s) && isWeightedList(s.attends) && isWeightedList(s.attendedBy));
const isToken = (v: unknown): v is TokenInfo =>
  isObj(v) && isInt(v.id) && isStr(v.text) && isInt(v.start) && isInt(v.end) && v.end >= v.start && isBool(v.special);
const isModelInfo = (v: unknown): v is ModelInfo =>
  isObj(v) &&
  isStr(v.name) &&
  isInt(v.layers, 1) &&
  isInt(v.heads, 1) &&
  isInt(v.context, 1) &&
  isBool(v.causal) &&
  Array.isArray(v.layerNames) &&
  v.layerNames.every(isStr);
function isHeadScoreRow(v: unknown): v is HeadScoreRow {
  if (!isObj(v) || !isInt(v.layer) || !isInt(v.head) || !isObj(v.scores)) return false;
  const scores = v.scores;
  return SCORE_NAMES.every((k) => isNum(scores[k]) || (k === 'induction' && scores[k] === null));
}
export const isBackend = (v: unknown): v is Backend => v === 'webgpu' || v === 'wasm';
export const isBackendSetting = (v: unknown): v is BackendSetting => v === 'auto' || isBackend(v);
const isSettings = (s: unknown): boolean =>
  isObj(s) && isBackendSetting(s.backend) && isInt(s.maxTokens, 1) && isInt(s.topK, 1);

const hostValidators: Validators<HostToWebview> = {
  analyse: (v) =>
    isInt(v.requestId) &&
    isStr(v.text) &&
    isStr(v.source) &&
    isObj(v.origin) &&
    isStr(v.origin.uri) &&
    isInt(v.origin.offset) &&
    isSettings(v.settings),
  setView: (v) => isView(v.view),
  revealToken: (v) => isInt(v.index),
  setStale: (v) => isBool(v.stale),
  clear: () => true,
  scoreHeads: (v) => isInt(v.requestId),
  file: (v) => {
    // VS Code delivers a posted Uint8Array as one, or as its ArrayBuffer.
    if (v.data instanceof ArrayBuffer) v.data = new Uint8Array(v.data);
    return isPageFile(v.file) && v.data instanceof Uint8Array;
  },
  fileError: (v) => isPageFile(v.file) && isStr(v.message),
};

const webviewValidators: Validators<WebviewToHost> = {
  ready: () => true,
  readFile: (v) => isPageFile(v.file),
  result: (v) =>
    isInt(v.requestId) &&
    isBackend(v.backend) &&
    isStrOrNull(v.backendNote) &&
    isNum(v.runMs) &&
    isModelInfo(v.model) &&
    Array.isArray(v.tokens) &&
    v.tokens.every(isToken) &&
    isObj(v.analysed) &&
    isInt(v.analysed.start) &&
    isInt(v.analysed.end) &&
    isBool(v.truncated) &&
    isInt(v.windows) &&
    isView(v.view) &&
    isSummaries(v.summaries) &&
    v.summaries.length === v.tokens.length,
  summary: (v) => isInt(v.requestId) && isView(v.view) && isSummaries(v.summaries),
  focusToken: (v) => isInt(v.requestId) && isIntOrNull(v.index),
  headScores: (v) => isInt(v.requestId) && Array.isArray(v.heads) && v.heads.every(isHeadScoreRow),
  superseded: (v) => isInt(v.requestId),
  error: (v) => isIntOrNull(v.requestId) && isStr(v.message),
  restart: (v) => isIntOrNull(v.requestId) && isStr(v.reason),
};

/** Validates a message the webview received from the host. */
export const parseHostMessage = (v: unknown): Parsed<HostToWebview> => parseWith(hostValidators, v);

/** Validates a message the host received from the webview. */
export const parseWebviewMessage = (v: unknown): Parsed<WebviewToHost> => parseWith(webviewValidators, v);

export function headLabel(head: HeadChoice): string {
  return head === 'mean' ? 'all heads (mean)' : head === 'max' ? 'all heads (max)' : `head ${head}`;
}
