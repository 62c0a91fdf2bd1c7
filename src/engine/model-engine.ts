import { isCausal } from '../common/analysis';
import { AttentionStore } from '../common/attention-store';
import type { BackendSetting, ModelInfo, PredictionInfo, PredictionKind, TokenInfo } from '../common/protocol';
import type { QueryKeyLayer } from '../common/query-key';
import { analyseIds, type InterventionEffects } from './analyse';
import type { Intervention } from './interventions';
import { exposeAttention, type PreparedGraph } from './attention-graph';
import { fitText } from './fit';
import { contextLength } from './model-config';
import { AttentionSession, noLogitsReason, type ExternalDataFile } from './session';
import { loadTokenizer, type TextTokenizer } from './tokenizer';
import { addedBySequenceTemplate, edgeSpecials } from './windows';

/**
 * What a model is made of, as bytes: no URLs, no files. The caller fetches them, and the
 * external data files the graph names once it is parsed.
 */
export interface ModelBytes {
  name: string;
  /** The model file as it is, or the graph already prepared (from a cache). */
  graph: Uint8Array | PreparedGraph;
  external: (files: string[]) => Promise<ExternalDataFile[]>;
}

export interface ModelText {
  tokenizer: string;
  tokenizerConfig: string | null;
  config: string | null;
}

export interface EngineResult {
  tokens: TokenInfo[];
  store: AttentionStore;
  model: ModelInfo;
  backend: 'webgpu' | 'wasm';
  backendNote: string | null;
  runMs: number;
  analysedEnd: number;
  truncated: boolean;
  /** Why the tokens' places in the text are approximate, or null when exact. */
  offsetsNote: string | null;
  windows: number;
  /** What the model predicted after each analysed token, when asked for and it has logits. */
  predictions: PredictionInfo[] | null;
  /**
   * What each prediction is of: 'next-token' (a causal model: the token after it) or 'masked' (a
   * model that attends both ways, each token masked in turn: the token itself); null without any.
   */
  predictionKind: PredictionKind | null;
  /** Why predictions asked for are missing (a model without logits), else null. */
  predictionsNote: string | null;
  /** Which tokenizer made the tokens (a hash of its files): results of different ones do not compare. */
  tokenizerId: string;
  /** The intervention this run was made with (token indices into `tokens`), and what it changed; else null. */
  intervention: (Intervention & { effects: InterventionEffects }) | null;
  timings: Record<string, number>;
}

export type EngineStage = 'runtime' | 'tokenizer' | 'surgery' | 'session' | 'warm-up';
export type StageListener = (stage: EngineStage, ms: number) => void;

const since = (t: number): number => performance.now() - t;

/**
 * How long the panel spends masking tokens one by one for a model that attends both ways, before
 * it leaves the rest without a prediction: one run per token, seconds for a BERT-base over 512.
 */
export const MASKED_BUDGET_MS = 10_000;

/** Why predictions asked for are missing or partial, else null. */
function predictionsNote(
  name: string,
  graph: { logits: string | null; originalOutputs: string[] },
  asked: boolean,
  r: {
    withLogits: boolean;
    bothWays: boolean;
    maskId: number | null;
    masked?: { done: number; of: number };
    budgetMs: number;
  },
): string | null {
  if (!asked) return null;
  if (!r.withLogits) return `No predictions: ${noLogitsReason(graph)}.`;
  if (r.bothWays && r.maskId === null)
    return `No predictions: ${name} attends both ways (a masked language model), so each token must be masked to be predicted, and its tokenizer names no mask token ([MASK] or <mask>).`;
  if (r.bothWays && !r.masked)
    return `No predictions: ${name} attends both ways, so its logits are not next-token predictions.`;
  if (r.masked && r.masked.done < r.masked.of)
    return `Surprisal for the first ${r.masked.done} of ${r.masked.of} tokens: ${name} attends both ways, so each token is masked in a run of its own, and the panel stops after ${r.budgetMs / 1000} s.`;
  return null;
}

/** A 32-bit FNV-1a hash of a text, in hex: enough to tell two tokenizers apart. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * One model, ready to analyse text: the tokenizer, the graph after surgery, one inference
 * session. It runs wherever onnxruntime-web runs — the panel's worker, or Node in the tests —
 * and never fetches anything itself: the bytes are handed in.
 */
export class ModelEngine {
  private tokenizer?: TextTokenizer;
  private context = 0;
  private session?: AttentionSession;
  private name = '';
  private tokenizerId = '';
  /** Whether the model attends only backwards, from the warm-up run (null when it failed). */
  private causal: boolean | null = null;

  constructor(private readonly onStage: StageListener = () => undefined) {}

  /** The tokenizer and the context length (from config.json / tokenizer_config.json). */
  loadText(text: ModelText): void {
    const t = performance.now();
    this.tokenizer = loadTokenizer(text.tokenizer, text.tokenizerConfig ?? undefined);
    this.context = contextLength(text.config ?? undefined, text.tokenizerConfig ?? undefined);
    this.tokenizerId = fnv1a(`${text.tokenizer}\u0000${text.tokenizerConfig ?? ''}`);
    this.onStage('tokenizer', since(t));
  }

  /**
   * Surgery, session creation on the backend the setting allows (`note` says why it is not the
   * one asked for, when the caller decided that), and one short run that compiles the kernels.
   */
  async loadModel(
    model: ModelBytes,
    setting: BackendSetting,
    options: {
      note?: string | null;
      /** Sees the prepared graph before the session takes it (to cache it), when surgery ran here. */
      onPrepared?: (graph: PreparedGraph) => void;
      /** The runtime's start, begun earlier (initRuntime): the session waits for it, the surgery does not. */
      runtime?: Promise<unknown>;
      /** Keep the language-model head, for predictions. */
      logits?: boolean;
      /** Prepare for interventions where the graph allows them (SurgeryOptions.interventions). */
      interventions?: boolean;
      /**
       * Asked once the session exists: false skips the warm-up run, when a request is already
       * waiting to run (its run compiles the kernels instead; measured, the warm-up cost a first
       * result 0.4–0.5 s in VS Code) and nothing needs to be known before it (`logits` off).
       */
      warmUp?: () => boolean;
    } = {},
  ): Promise<AttentionSession> {
    const note = options.note ?? null;
    this.name = model.name;
    let t = performance.now();
    let graph: PreparedGraph;
    if (model.graph instanceof Uint8Array) {
      graph = exposeAttention(model.graph, {
        logits: options.logits,
        interventions: options.interventions ? 'if-possible' : false,
      });
      this.onStage('surgery', since(t));
      options.onPrepared?.(graph);
    } else {
      graph = model.graph;
    }
    const external = graph.externalDataFiles.length ? await model.external(graph.externalDataFiles) : [];
    await options.runtime;
    t = performance.now();
    const session = await AttentionSession.create(graph, external, setting, undefined, note);
    this.onStage('session', since(t));
    // Whether a model attends both ways must be known before a text with predictions runs (it
    // predicts each token masked): the warm-up says, unless a waiting request's run comes first.
    if (options.logits || (options.warmUp?.() ?? true)) {
      t = performance.now();
      const warm = await session.run(Array.from({ length: 8 }, (_, i) => i + 1)).catch(() => undefined);
      this.causal = warm
        ? isCausal(new AttentionStore([{ start: 0, length: 8, layers: warm.layers }], warm.layers.length, warm.heads))
        : null;
      this.onStage('warm-up', since(t));
    }
    this.session = session;
    return session;
  }

  get ready(): boolean {
    return this.session !== undefined && this.tokenizer !== undefined;
  }

  async analyse(
    text: string,
    maxTokens: number,
    options: { predictions?: boolean; intervention?: Intervention; maskedBudgetMs?: number } = {},
  ): Promise<EngineResult> {
    const session = this.session;
    const tokenizer = this.tokenizer;
    if (!session || !tokenizer) throw new Error('the model is not loaded yet');
    const timings: Record<string, number> = {};
    const t = performance.now();
    const fit = fitText(text, tokenizer, maxTokens);
    if (fit.tokens.length === 0) throw new Error('The selection gives no tokens to analyse.');
    timings.tokenize = since(t);
    // A model without logits still shows its attention; the panel says why predictions are missing.
    const withLogits = options.predictions === true && session.graph.logits !== null;
    // A model that attends both ways sees the token it would predict: each token is masked in turn.
    const bothWays = withLogits && this.causal === false;
    const maskId = tokenizer.maskId;
    const predictions = withLogits && (!bothWays || maskId !== null);
    const budgetMs = options.maskedBudgetMs ?? MASKED_BUDGET_MS;
    const a = await analyseIds(
      session,
      fit.tokens.map((x) => x.id),
      this.context,
      maxTokens,
      edgeSpecials(fit.tokens.map(addedBySequenceTemplate)),
      {
        predictions,
        masked:
          bothWays && maskId !== null
            ? {
                maskId,
                skip: fit.tokens.map((x) => x.special === true),
                budgetMs,
              }
            : undefined,
        intervention: options.intervention,
      },
    );
    timings.run = a.runMs;
    const graph = session.graph;
    const model: ModelInfo = {
      name: this.name,
      layers: graph.attention.length,
      heads: a.store.heads,
      context: this.context,
      causal: isCausal(a.store),
      layerNames: graph.attention.map((x) => x.layerName),
    };
    // (Read again from this text's attention, for a model whose warm-up run failed.)
    const unmasked = predictions && !a.masked && !model.causal;
    return {
      tokens: fit.tokens,
      store: a.store,
      model,
      backend: session.backend,
      backendNote: session.backendNote,
      runMs: a.runMs,
      analysedEnd: fit.analysedEnd,
      truncated: fit.truncated,
      offsetsNote: fit.offsetsNote,
      windows: a.plan.windows.length,
      timings,
      predictions: unmasked
        ? null
        : (a.predictions?.map((p) => ({
            logprob: p.logprob,
            top: p.top.map((c) => ({ id: c.id, text: tokenizer.idToText(c.id), p: c.p })),
          })) ?? null),
      predictionKind: a.predictions && !unmasked ? (a.masked ? 'masked' : 'next-token') : null,
      tokenizerId: this.tokenizerId,
      predictionsNote: predictionsNote(this.name, graph, options.predictions === true, {
        withLogits,
        bothWays: bothWays || unmasked,
        maskId,
        masked: a.masked,
        budgetMs,
      }),
      intervention: options.intervention && a.effects ? { ...options.intervention, effects: a.effects } : null,
    };
  }

  /** One layer's query and key vectors for one window's token ids (the query·key view). */
  async queryKey(ids: readonly number[], layer: number): Promise<QueryKeyLayer> {
    if (!this.session) throw new Error('the model is not loaded yet');
    return this.session.runQueryKey(ids, layer);
  }

  async release(): Promise<void> {
    await this.session?.release().catch(() => undefined);
    this.session = undefined;
  }
}
