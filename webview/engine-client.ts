import * as ort from 'onnxruntime-web';
import { isCausal } from '../src/common/analysis';
import type { AttentionStore } from '../src/common/attention-store';
import type { BackendSetting, ModelInfo, TokenInfo } from '../src/common/protocol';
import { analyseIds } from '../src/engine/analyse';
import { exposeAttention, type PreparedGraph } from '../src/engine/attention-graph';
import { fitText } from '../src/engine/fit';
import { addedBySequenceTemplate, edgeSpecials } from '../src/engine/windows';
import { contextLength } from '../src/engine/model-config';
import { AttentionSession } from '../src/engine/session';
import { loadTokenizer, type TextTokenizer } from '../src/engine/tokenizer';
import type { WebviewConfig } from './config';

export interface EngineResult {
  tokens: TokenInfo[];
  store: AttentionStore;
  model: ModelInfo;
  backend: 'webgpu' | 'wasm';
  backendNote: string | null;
  runMs: number;
  analysedEnd: number;
  truncated: boolean;
  windows: number;
  timings: Record<string, number>;
}

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load the ${what} (${res.status} ${res.statusText})`);
  return new Uint8Array(await res.arrayBuffer());
}
async function fetchText(url: string, what: string, optional = false): Promise<string | undefined> {
  const res = await fetch(url).catch(() => undefined);
  if (!res?.ok) {
    if (optional) return undefined;
    throw new Error(`could not load the ${what}`);
  }
  return res.text();
}

/**
 * The webview's side of the engine: loads the model by URL once, runs the graph surgery once,
 * and keeps one inference session per backend setting, created ahead of the first request.
 */
export class EngineClient {
  private graph?: Promise<PreparedGraph>;
  private tokenizer?: Promise<TextTokenizer>;
  private context?: Promise<number>;
  private session?: { setting: BackendSetting; session: Promise<AttentionSession> };
  /** Session creations run one after another: onnxruntime-web's runtime cannot initialise twice at once. */
  private creating: Promise<unknown> = Promise.resolve();
  /** Analyses run one after another: a session cannot run twice at once. */
  private analysing: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: WebviewConfig) {
    ort.env.wasm.wasmPaths = config.ortBase;
    // The webview is not cross-origin isolated, so threads are unavailable anyway.
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
  }

  /** The graph after surgery: fetched once per session creation, not kept once a session holds it. */
  private loadGraph(): Promise<PreparedGraph> {
    if (!this.graph) {
      const g = fetchBytes(this.config.modelUrl, 'model').then((b) => exposeAttention(b));
      this.graph = g;
      // A failed load is not cached: the next request tries again.
      g.catch(() => {
        if (this.graph === g) this.graph = undefined;
      });
    }
    return this.graph;
  }

  /** The tokenizer and the context length, loaded once. */
  private loadText(): { tokenizer: Promise<TextTokenizer>; context: Promise<number> } {
    const c = this.config;
    if (!this.tokenizer || !this.context) {
      const tokenizerConfig = c.tokenizerConfigUrl ? fetchText(c.tokenizerConfigUrl, 'tokenizer config', true) : Promise.resolve(undefined);
      this.tokenizer ??= Promise.all([fetchText(c.tokenizerUrl, 'tokenizer'), tokenizerConfig]).then(([t, tc]) => loadTokenizer(t ?? '', tc));
      this.context ??= Promise.all([c.configUrl ? fetchText(c.configUrl, 'model config', true) : undefined, tokenizerConfig]).then(([cfg, tc]) => contextLength(cfg, tc));
      this.tokenizer.catch(() => (this.tokenizer = undefined));
    }
    return { tokenizer: this.tokenizer, context: this.context };
  }

  /** Creates the session for a backend setting, or returns the one already made for it. */
  prepare(setting: BackendSetting): Promise<AttentionSession> {
    if (this.session?.setting === setting) return this.session.session;
    const old = this.session;
    const graph = this.loadGraph();
    const session = this.creating.then(async () => {
      const g = await graph;
      const base = this.config.modelUrl.slice(0, this.config.modelUrl.lastIndexOf('/') + 1);
      const external = await Promise.all(g.externalDataFiles.map(async (f) => ({ path: f, data: await fetchBytes(base + f, `external data file ${f}`) })));
      const s = await AttentionSession.create(g, external, setting);
      // The serialized graph (the model's size again) is not kept once a session holds the
      // model: a later backend change loads it anew.
      if (this.graph === graph) this.graph = undefined;
      // One short run compiles the WebGPU kernels (or warms wasm) before the first request.
      await s.run(Array.from({ length: 8 }, (_, i) => i + 1)).catch(() => undefined);
      return s;
    });
    this.session = { setting, session };
    this.creating = session.catch(() => undefined);
    session.catch(() => {
      if (this.session?.session === session) this.session = undefined;
    });
    void old?.session.then((s) => s.release()).catch(() => undefined);
    return session;
  }

  analyse(text: string, setting: BackendSetting, maxTokens: number): Promise<EngineResult> {
    const job = this.analysing.then(() => this.analyseNow(text, setting, maxTokens));
    this.analysing = job.catch(() => undefined);
    return job;
  }

  private async analyseNow(text: string, setting: BackendSetting, maxTokens: number): Promise<EngineResult> {
    const timings: Record<string, number> = {};
    let t = performance.now();
    const { tokenizer, context } = this.loadText();
    const tok = await tokenizer;
    const fit = fitText(text, tok, maxTokens);
    if (fit.tokens.length === 0) throw new Error('The selection gives no tokens to analyse.');
    timings.tokenize = performance.now() - t;
    t = performance.now();
    const session = await this.prepare(setting);
    timings.session = performance.now() - t;
    const ctx = await context;
    const a = await analyseIds(session, fit.tokens.map((x) => x.id), ctx, maxTokens, edgeSpecials(fit.tokens.map(addedBySequenceTemplate)));
    timings.run = a.runMs;
    const graph = session.graph;
    const model: ModelInfo = {
      name: this.config.modelName,
      layers: graph.attention.length,
      heads: a.store.heads,
      context: ctx,
      causal: isCausal(a.store),
      layerNames: graph.attention.map((x) => x.layerName),
    };
    return {
      tokens: fit.tokens,
      store: a.store,
      model,
      backend: session.backend,
      backendNote: session.backendNote,
      runMs: a.runMs,
      analysedEnd: fit.analysedEnd,
      truncated: fit.truncated,
      windows: a.plan.windows.length,
      timings,
    };
  }
}
