/**
 * The one protocol between the extension host and the webview: the message types. Both sides
 * import them; every message is validated on receipt (`protocol-validation.ts`:
 * `parseHostMessage`, `parseWebviewMessage`) because a webview message is untrusted input,
 * whatever its sender meant.
 */
import type { HeadScoreRow } from './head-scores';
import type { ExportFormat } from './export-formats';

export type Backend = 'webgpu' | 'wasm';
export type BackendSetting = 'auto' | Backend;
/**
 * A head index (0-based), or an aggregate over all heads of the layer: their mean, their max, or
 * the attention rollout up to the layer.
 */
export type HeadChoice = number | 'mean' | 'max' | 'rollout';

/** The aggregates, in the order the pickers offer them. */
export const AGGREGATE_HEADS = ['mean', 'max', 'rollout'] as const;

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
  /** Also what a causal language model predicts after each token (its surprisal). */
  predictions: boolean;
}

/**
 * What a prediction is of: 'next-token' (a causal model, at each token: the token that follows),
 * 'masked' (a model that attends both ways, each token masked in a run of its own: the token itself).
 */
export type PredictionKind = 'next-token' | 'masked';

/** What the model predicted at one token (PredictionKind says of which token). */
export interface PredictionInfo {
  /** Natural log of the probability it gave the token predicted; null where there is none. */
  logprob: number | null;
  /** The most likely tokens there, most likely first. */
  top: { id: number; text: string; p: number }[];
}

/**
 * An intervention: heads to knock out (their attention set to zero), tokens to hide from every
 * other token's attention.
 */
export interface InterventionChoice {
  heads: { layer: number; head: number }[];
  /** Indices into the analysed tokens. */
  hiddenTokens: number[];
}

/**
 * What the host shows of a result's predictions, per shown token (or word): the editor's surprisal
 * shading and the hover's "expected here" and "predicted next".
 */
export interface ShownPrediction {
  /** How unexpected the token (word) was to the model, in bits; null where nothing predicted it. */
  bits: number | null;
  /** What the model expected in its place, most likely first. */
  expected: { text: string; p: number }[];
  /** What it expected after it, most likely first (empty for a masked model). */
  next: { text: string; p: number }[];
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
  /** Run with heads knocked out or tokens hidden (indices into the text's tokens); absent or null: plainly. */
  intervention?: InterventionChoice | null;
}
export interface SetViewMessage {
  type: 'setView';
  view: AttentionView;
}
export interface RevealTokenMessage {
  type: 'revealToken';
  index: number;
}
/**
 * The editor's selection covers several analysed tokens, `first` to `last` (null: it no longer
 * does): the panel focuses on them together, their rows summed, and answers with `rangeSummary`.
 */
export interface FocusTokensMessage {
  type: 'focusTokens';
  requestId: number;
  range: { first: number; last: number } | null;
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
/** Export Attention…: the page makes the file's bytes for the current view (`exported` answers). */
export interface ExportMessage {
  type: 'export';
  requestId: number;
  format: ExportFormat;
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

/**
 * Knock Out Heads… / Hide Selection from Attention: the page runs its result's text again with
 * these heads knocked out and these tokens hidden (indices into the tokens the host was sent).
 */
export interface InterveneMessage {
  type: 'intervene';
  requestId: number;
  heads: InterventionChoice['heads'];
  hidden: number[];
}

/** Compare with Previous Result: the panel opens its Compare tab. */
export interface CompareMessage {
  type: 'compare';
}

/**
 * The host is about to replace the page (Choose Model): keep the current result in the panel's
 * cache, for the next page's Compare tab; answered with `resultKept`.
 */
export interface KeepResultMessage {
  type: 'keepResult';
}

export type HostToWebview =
  | AnalyseRequest
  | CompareMessage
  | KeepResultMessage
  | InterveneMessage
  | SetViewMessage
  | RevealTokenMessage
  | FocusTokensMessage
  | SetStaleMessage
  | ClearMessage
  | ScoreHeadsMessage
  | ExportMessage
  | FileMessage
  | FileErrorMessage;

/**
 * The files the page may ask the host for, by role: the graph and the runtime's two WebAssembly
 * builds. Nothing else can be named (external data and the tokenizer come by URL).
 */
export type PageFile = 'model' | 'runtime:wasm' | 'runtime:webgpu';

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
  /** Per token, when predictions are on and the model gave them. */
  predictions: ShownPrediction[] | null;
  /** The intervention the run was made with, in words ("knocked out L3·H7 · hid “n”"); null for a plain run. */
  intervention: string | null;
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
/** What several tokens focused together attend to (their rows summed), for the editor's shading. */
export interface RangeSummaryMessage {
  type: 'rangeSummary';
  requestId: number;
  first: number;
  last: number;
  attends: Weighted[];
}
/** Every head's scores for a result (the answer to `scoreHeads`). */
export interface HeadScoresMessage {
  type: 'headScores';
  requestId: number;
  heads: HeadScoreRow[];
}
/** The bytes of an export (the answer to `export`), or why there are none. */
export interface ExportedMessage {
  type: 'exported';
  requestId: number;
  format: ExportFormat;
  data: Uint8Array | null;
  error: string | null;
}
/** The panel's Export… button: the host asks where to, as the command does. */
export interface ExportAskedMessage {
  type: 'exportAsked';
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

/** Answers `keepResult`: whether the result was kept (there may be none, or it may be too large). */
export interface ResultKeptMessage {
  type: 'resultKept';
  kept: boolean;
}

export type WebviewToHost =
  | ReadyMessage
  | ReadFileMessage
  | ResultKeptMessage
  | ResultMessage
  | SummaryMessage
  | FocusTokenMessage
  | RangeSummaryMessage
  | HeadScoresMessage
  | ExportedMessage
  | ExportAskedMessage
  | SupersededMessage
  | ErrorMessage
  | RestartMessage;

export function headLabel(head: HeadChoice): string {
  if (head === 'mean') return 'all heads (mean)';
  if (head === 'max') return 'all heads (max)';
  if (head === 'rollout') return 'rollout (layers 0 to this one)';
  return `head ${head}`;
}
