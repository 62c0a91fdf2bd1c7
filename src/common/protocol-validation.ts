/**
 * Validation of the protocol's messages (protocol.ts): one table per direction with one validator
 * per message type (`validate.ts`), so that a new message type without a validator does not compile.
 */
import { EXPORT_FORMATS, type ExportFormat } from './export-formats';
import { SCORE_NAMES, type HeadScoreRow } from './head-scores';
import type {
  AttentionView,
  Backend,
  BackendSetting,
  HeadChoice,
  HostToWebview,
  ModelInfo,
  InterventionChoice,
  PageFile,
  ShownPrediction,
  TokenInfo,
  TokenSummary,
  Weighted,
  WebviewToHost,
} from './protocol';
import {
  isBool,
  isInt,
  isIntList,
  isIntOrNull,
  isNum,
  isObj,
  isStr,
  isStrOrNull,
  parseWith,
  type Parsed,
  type Validators,
} from './validate';

export const isPageFile = (v: unknown): v is PageFile =>
  v === 'model' || v === 'runtime:wasm' || v === 'runtime:webgpu';

function isHeadChoice(v: unknown): v is HeadChoice {
  return v === 'mean' || v === 'max' || v === 'rollout' || isInt(v);
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
export const isInterventionChoice = (v: unknown): v is InterventionChoice =>
  isObj(v) &&
  Array.isArray(v.heads) &&
  v.heads.every((h) => isObj(h) && isInt(h.layer) && isInt(h.head)) &&
  isIntList(v.hiddenTokens);
const isCandidates = (v: unknown): boolean =>
  Array.isArray(v) && v.every((c) => isObj(c) && isStr(c.text) && isNum(c.p) && c.p >= 0 && c.p <= 1);
const isShownPrediction = (v: unknown): v is ShownPrediction =>
  isObj(v) && (v.bits === null || (isNum(v.bits) && v.bits >= 0)) && isCandidates(v.expected) && isCandidates(v.next);
function isHeadScoreRow(v: unknown): v is HeadScoreRow {
  if (!isObj(v) || !isInt(v.layer) || !isInt(v.head) || !isObj(v.scores)) return false;
  const scores = v.scores;
  return SCORE_NAMES.every(
    (k) => isNum(scores[k]) || ((k === 'induction' || k === 'previousToken') && scores[k] === null),
  );
}
const isExportFormat = (v: unknown): v is ExportFormat => EXPORT_FORMATS.includes(v as ExportFormat);
export const isBackend = (v: unknown): v is Backend => v === 'webgpu' || v === 'wasm';
export const isBackendSetting = (v: unknown): v is BackendSetting => v === 'auto' || isBackend(v);
const isSettings = (s: unknown): boolean =>
  isObj(s) && isBackendSetting(s.backend) && isInt(s.maxTokens, 1) && isInt(s.topK, 1) && isBool(s.predictions);

const hostValidators: Validators<HostToWebview> = {
  analyse: (v) =>
    isInt(v.requestId) &&
    isStr(v.text) &&
    isStr(v.source) &&
    isObj(v.origin) &&
    isStr(v.origin.uri) &&
    isInt(v.origin.offset) &&
    isSettings(v.settings) &&
    (v.intervention === undefined || v.intervention === null || isInterventionChoice(v.intervention)),
  setView: (v) => isView(v.view),
  compare: () => true,
  keepResult: () => true,
  intervene: (v) =>
    isInt(v.requestId) && isIntList(v.hidden) && isInterventionChoice({ heads: v.heads, hiddenTokens: v.hidden }),
  revealToken: (v) => isInt(v.index),
  focusTokens: (v) =>
    isInt(v.requestId) &&
    (v.range === null ||
      (isObj(v.range) && isInt(v.range.first) && isInt(v.range.last) && v.range.last > v.range.first)),
  setStale: (v) => isBool(v.stale),
  clear: () => true,
  scoreHeads: (v) => isInt(v.requestId),
  export: (v) => isInt(v.requestId) && isExportFormat(v.format),
  file: (v) => {
    // VS Code delivers a posted Uint8Array as one, or as its ArrayBuffer.
    if (v.data instanceof ArrayBuffer) v.data = new Uint8Array(v.data);
    return isPageFile(v.file) && v.data instanceof Uint8Array;
  },
  fileError: (v) => isPageFile(v.file) && isStr(v.message),
};

const webviewValidators: Validators<WebviewToHost> = {
  ready: () => true,
  resultKept: (v) => isBool(v.kept),
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
    v.summaries.length === v.tokens.length &&
    (v.predictions === null ||
      (Array.isArray(v.predictions) &&
        v.predictions.length === v.tokens.length &&
        v.predictions.every(isShownPrediction))) &&
    isStrOrNull(v.intervention),
  summary: (v) => isInt(v.requestId) && isView(v.view) && isSummaries(v.summaries),
  focusToken: (v) => isInt(v.requestId) && isIntOrNull(v.index),
  rangeSummary: (v) =>
    isInt(v.requestId) &&
    isInt(v.first) &&
    isInt(v.last) &&
    (v.last as number) > (v.first as number) &&
    isWeightedList(v.attends),
  exported: (v) => {
    if (v.data instanceof ArrayBuffer) v.data = new Uint8Array(v.data);
    return (
      isInt(v.requestId) &&
      isExportFormat(v.format) &&
      (v.data === null || v.data instanceof Uint8Array) &&
      isStrOrNull(v.error) &&
      (v.data === null) !== (v.error === null)
    );
  },
  exportAsked: () => true,
  headScores: (v) => isInt(v.requestId) && Array.isArray(v.heads) && v.heads.every(isHeadScoreRow),
  superseded: (v) => isInt(v.requestId),
  error: (v) => isIntOrNull(v.requestId) && isStr(v.message),
  restart: (v) => isIntOrNull(v.requestId) && isStr(v.reason),
};

/** Validates a message the webview received from the host. */
export const parseHostMessage = (v: unknown): Parsed<HostToWebview> => parseWith(hostValidators, v);

/** Validates a message the host received from the webview. */
export const parseWebviewMessage = (v: unknown): Parsed<WebviewToHost> => parseWith(webviewValidators, v);
