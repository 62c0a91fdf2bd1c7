/**
 * The messages between the panel's page and its engine worker. Like the host's protocol, every
 * message is validated on receipt, by a table with one validator per message type: a new type
 * without a validator does not compile. Tensors travel as transferred ArrayBuffers.
 */
import type {
  Backend,
  BackendSetting,
  InterventionChoice,
  ModelInfo,
  PredictionInfo,
  PredictionKind,
  TokenInfo,
} from '../src/common/protocol';
import { isBackend, isBackendSetting, isInterventionChoice } from '../src/common/protocol-validation';
import type { EngineResult, EngineStage } from '../src/engine/model-engine';
import type { QueryKeyLayer } from '../src/common/query-key';
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
} from '../src/common/validate';

export interface WindowPayload {
  start: number;
  length: number;
  lead: number[];
  trail: number[];
  /** Per layer, [heads, T, T] float32 probabilities (each its own transferred buffer). */
  layers: Float32Array[];
}

/** The intervention a run was made with, and what it changed (the engine's own shape). */
export type InterventionResult = NonNullable<EngineResult['intervention']>;

export type PageToWorker =
  | { type: 'text'; tokenizer: string; tokenizerConfig: string | null; config: string | null }
  /** The runtime's WebAssembly binary, fetched by the page (fetches inside a webview worker are unreliable). */
  /**
   * `threads`: onnxruntime's thread count (1 unless the page is cross-origin isolated); `cacheAs`:
   * the key the worker keeps the binary under in the panel's cache once the model has loaded (null:
   * it came from there).
   */
  | { type: 'runtime'; wasm: ArrayBuffer; threads: number; cacheAs: string | null }
  | {
      type: 'model';
      name: string;
      /** The model file, or (prepared: true) a prepared-graph file from the page's cache. */
      graph: ArrayBuffer;
      prepared: boolean;
      /** The model file's content hash: what a prepared graph is cached under. */
      sourceHash: string | null;
      setting: BackendSetting;
      /** Why the run is on WebAssembly, when the page decided so before loading a runtime. */
      note: string | null;
      /** Keep the language-model head (predictions on): a graph prepared so is cached under its own key. */
      logits: boolean;
    }
  /** The external data files the graph named (answer to `needFiles`). */
  | { type: 'files'; files: { path: string; data: ArrayBuffer }[] }
  | {
      type: 'analyse';
      id: number;
      text: string;
      maxTokens: number;
      predictions: boolean;
      /** Heads knocked out, tokens hidden (indices into the text's tokens); also run plainly, for what changed. */
      intervention: InterventionChoice | null;
    }
  /** One layer's query and key vectors for one window's token ids (the query·key view). */
  | { type: 'queryKey'; id: number; ids: number[]; layer: number }
  /** A request waits for the model to load: it runs first, without a warm-up run before it. */
  | { type: 'requestWaiting' };

export type WorkerToPage =
  | { type: 'stage'; stage: EngineStage; ms: number }
  /** The graph keeps its weights in these files, beside it: the page fetches them. */
  | { type: 'needFiles'; files: string[] }
  | { type: 'loaded'; backend: Backend; note: string | null }
  /** The graph after surgery was written to the panel's cache (`cached`), or could not be. */
  | { type: 'prepared'; cached: boolean }
  /** The runtime's binary was written to the panel's cache (or could not be). */
  | { type: 'runtimeCached'; cached: boolean }
  /** The cached prepared graph the page sent is not usable (another version, cut short): send the model. */
  | { type: 'preparedRejected'; reason: string }
  | {
      type: 'result';
      id: number;
      tokens: TokenInfo[];
      windows: WindowPayload[];
      layers: number;
      heads: number;
      model: ModelInfo;
      backend: Backend;
      backendNote: string | null;
      runMs: number;
      analysedEnd: number;
      truncated: boolean;
      offsetsNote: string | null;
      predictions: PredictionInfo[] | null;
      predictionKind: PredictionKind | null;
      predictionsNote: string | null;
      tokenizerId: string;
      intervention: InterventionResult | null;
      timings: Record<string, number>;
    }
  | { type: 'queryKey'; id: number; layer: QueryKeyLayer }
  /** `broken`: the runtime can run nothing more (a WebGPU device lost during a run). */
  | { type: 'error'; id: number | null; message: string; broken: boolean };

const STAGES: readonly EngineStage[] = ['runtime', 'tokenizer', 'surgery', 'session', 'warm-up'];
const isStage = (v: unknown): boolean => STAGES.includes(v as EngineStage);

function isInterventionResult(v: unknown): v is InterventionResult {
  if (!isInterventionChoice(v)) return false;
  const { effects } = v as { effects?: unknown };
  const isEffect = (e: unknown): boolean =>
    isObj(e) && (e.deltaSurprisal === null || isNum(e.deltaSurprisal)) && isNum(e.kl);
  return (
    isObj(effects) &&
    (effects.perToken === null || (Array.isArray(effects.perToken) && effects.perToken.every(isEffect))) &&
    Array.isArray(effects.heads) &&
    effects.heads.every((h) => isObj(h) && isInt(h.layer) && isInt(h.head) && isNum(h.change))
  );
}

const isPrediction = (v: unknown): boolean =>
  isObj(v) &&
  (v.logprob === null || isNum(v.logprob)) &&
  Array.isArray(v.top) &&
  v.top.every((c) => isObj(c) && isInt(c.id) && isStr(c.text) && isNum(c.p));

function isWindow(v: unknown): boolean {
  return (
    isObj(v) &&
    isInt(v.start) &&
    isInt(v.length, 1) &&
    isIntList(v.lead) &&
    isIntList(v.trail) &&
    Array.isArray(v.layers) &&
    v.layers.every((l) => l instanceof Float32Array)
  );
}

const pageValidators: Validators<PageToWorker> = {
  text: (v) => isStr(v.tokenizer) && isStrOrNull(v.tokenizerConfig) && isStrOrNull(v.config),
  model: (v) =>
    isStr(v.name) &&
    v.graph instanceof ArrayBuffer &&
    isStrOrNull(v.note) &&
    isBool(v.prepared) &&
    isStrOrNull(v.sourceHash) &&
    isBackendSetting(v.setting) &&
    isBool(v.logits),
  runtime: (v) =>
    v.wasm instanceof ArrayBuffer && isInt(v.threads, 1) && (v.threads as number) <= 64 && isStrOrNull(v.cacheAs),
  files: (v) =>
    Array.isArray(v.files) && v.files.every((f) => isObj(f) && isStr(f.path) && f.data instanceof ArrayBuffer),
  analyse: (v) =>
    isInt(v.id) &&
    isStr(v.text) &&
    isInt(v.maxTokens, 1) &&
    isBool(v.predictions) &&
    (v.intervention === null || isInterventionChoice(v.intervention)),
  queryKey: (v) => isInt(v.id) && isIntList(v.ids) && (v.ids as number[]).length > 0 && isInt(v.layer),
  requestWaiting: () => true,
};

function isQueryKeyLayer(v: unknown): boolean {
  if (!isObj(v)) return false;
  const { heads, kvHeads, dim, queries, keys, q, k, mask, maskHeads } = v;
  return (
    isInt(heads, 1) &&
    isInt(kvHeads, 1) &&
    isInt(dim, 1) &&
    isInt(queries, 1) &&
    isInt(keys, 1) &&
    isInt(maskHeads, 1) &&
    isNum(v.scale) &&
    (v.softcap === undefined || isNum(v.softcap)) &&
    q instanceof Float32Array &&
    q.length === heads * queries * dim &&
    k instanceof Float32Array &&
    k.length === kvHeads * keys * dim &&
    (mask === null || (mask instanceof Float32Array && mask.length === maskHeads * queries * keys))
  );
}

const workerValidators: Validators<WorkerToPage> = {
  stage: (v) => isStage(v.stage) && isNum(v.ms),
  prepared: (v) => isBool(v.cached),
  runtimeCached: (v) => isBool(v.cached),
  preparedRejected: (v) => isStr(v.reason),
  needFiles: (v) => Array.isArray(v.files) && v.files.every(isStr),
  loaded: (v) => isBackend(v.backend) && isStrOrNull(v.note),
  result: (v) =>
    isInt(v.id) &&
    Array.isArray(v.tokens) &&
    Array.isArray(v.windows) &&
    v.windows.every(isWindow) &&
    isInt(v.layers, 1) &&
    isInt(v.heads, 1) &&
    isObj(v.model) &&
    isBackend(v.backend) &&
    isStrOrNull(v.backendNote) &&
    isNum(v.runMs) &&
    isInt(v.analysedEnd) &&
    isBool(v.truncated) &&
    isStrOrNull(v.offsetsNote) &&
    (v.predictions === null || (Array.isArray(v.predictions) && v.predictions.every(isPrediction))) &&
    (v.predictionKind === null || v.predictionKind === 'next-token' || v.predictionKind === 'masked') &&
    isStrOrNull(v.predictionsNote) &&
    isStr(v.tokenizerId) &&
    (v.intervention === null || isInterventionResult(v.intervention)) &&
    isObj(v.timings),
  queryKey: (v) => isInt(v.id) && isQueryKeyLayer(v.layer),
  error: (v) => isIntOrNull(v.id) && isStr(v.message) && isBool(v.broken),
};

export const parsePageMessage = (v: unknown): Parsed<PageToWorker> => parseWith(pageValidators, v);
export const parseWorkerMessage = (v: unknown): Parsed<WorkerToPage> => parseWith(workerValidators, v);
