/**
 * The page's side of the engine. The engine itself runs in a worker (webview/engine-worker.ts);
 * this starts it, sends it its inputs as they arrive (engine-inputs.ts gets them on the page —
 * fetches from inside a webview worker are unreliable — and the bytes are transferred), and turns
 * its messages into results and errors. Loading starts when the page opens, before the first
 * request.
 */
import { AttentionStore } from '../src/common/attention-store';
import type {
  Backend,
  BackendSetting,
  FileErrorMessage,
  FileMessage,
  InterventionChoice,
  PageFile,
} from '../src/common/protocol';
import { unreachable } from '../src/common/validate';
import { backendPlan, probeWebGpu } from '../src/engine/backend-plan';
import type { EngineResult, EngineStage } from '../src/engine/model-engine';
import type { QueryKeyLayer } from '../src/common/query-key';
import type { WebviewConfig } from './config';
import { EngineInputs, type LoadProgress } from './engine-inputs';
import { EngineBrokenError, EngineStoppedError, engineThreads, startEngineWorker } from './engine-worker-start';
import type { PageTimeline } from './timeline';
import { parseWorkerMessage, type PageToWorker, type WorkerToPage } from './worker-protocol';

export type { EngineResult };

/** The stage the panel shows once the worker reports one done (null: still fetching). */
const STAGE_AFTER: Record<EngineStage, LoadProgress['stage'] | null> = {
  runtime: null,
  tokenizer: null,
  surgery: 'session',
  session: 'warm-up',
  'warm-up': 'warm-up',
};

interface Job {
  /** An analysis's result, or a query·key run's layer. */
  resolve: (r: EngineResult | QueryKeyLayer) => void;
  reject: (e: Error) => void;
}

/** Query·key runs are numbered apart from the host's request ids, which number the analyses. */
let nextQueryKeyId = 2 ** 30;

interface Running {
  worker: Worker;
  setting: BackendSetting;
  /** The graph keeps the language-model head (predictions on). */
  logits: boolean;
  /** Sends the runtime and the graph (again, from the model file, when a cached graph was refused). */
  sendModel: (fromModelFile: boolean) => Promise<void>;
  /** The worker's script (a blob: URL), released with the worker. */
  scriptUrl?: string;
  /** What this load took from the cache: the runtime's key; whether the graph came prepared. */
  runtimeKey?: string;
  cachedGraph: boolean;
  /** The graph was sent again from the model file after the cached one was refused. */
  rebuilt: boolean;
  /** A request waits for this load (the worker is told: it skips its warm-up run). */
  requestWaiting: boolean;
  loaded: Promise<{ backend: Backend; note: string | null }>;
  jobs: Map<number, Job>;
  fail: (e: Error) => void;
}

export class EngineClient {
  private running?: Running;
  private readonly inputs: EngineInputs;

  constructor(
    private readonly config: WebviewConfig,
    private readonly timeline: PageTimeline,
    onProgress: (p: LoadProgress) => void,
    /** Asks the host for a file (config.bytesFrom 'host'); the answer comes to receiveFile. */
    askHost: (file: PageFile) => void,
  ) {
    this.inputs = new EngineInputs(config, timeline, onProgress, askHost);
  }

  /** The host's answer to a `readFile`. */
  receiveFile(m: FileMessage | FileErrorMessage): void {
    this.inputs.hostFiles.receive(m);
  }

  /**
   * Starts (or keeps) the worker for a backend setting, and loads the model into it. `forRequest`:
   * a request waits for it, so the load makes no warm-up run of its own.
   */
  prepare(
    setting: BackendSetting,
    logits = false,
    forRequest = false,
  ): Promise<{ backend: Backend; note: string | null }> {
    if (this.running?.setting !== setting || this.running.logits !== logits) {
      this.stop(
        new Error(
          this.running?.setting === setting ? 'the predictions setting changed' : 'the backend setting changed',
        ),
      );
      this.running = this.start(setting, logits);
    }
    const running = this.running;
    if (forRequest && !running.requestWaiting) {
      running.requestWaiting = true;
      // Else said once the worker has started.
      if (running.worker) this.send(running, { type: 'requestWaiting' });
    }
    return running.loaded;
  }

  /** Runs one analysis; the caller keeps at most one in flight and drops what a newer one supersedes. */
  async analyse(
    id: number,
    text: string,
    setting: BackendSetting,
    maxTokens: number,
    predictions = false,
    intervention: InterventionChoice | null = null,
  ): Promise<EngineResult> {
    await this.prepare(setting, predictions);
    const running = this.running;
    if (!running) throw new EngineStoppedError('the engine stopped while loading');
    return new Promise<EngineResult>((resolve, reject) => {
      running.jobs.set(id, { resolve: resolve as Job['resolve'], reject });
      this.send(running, { type: 'analyse', id, text, maxTokens, predictions, intervention });
    });
  }

  /** One layer's query and key vectors for one window's token ids, from the loaded model (the query·key view). */
  async queryKey(ids: number[], layer: number): Promise<QueryKeyLayer> {
    const running = this.running;
    if (!running) throw new EngineStoppedError('the engine is not running');
    await running.loaded;
    const id = nextQueryKeyId++;
    return new Promise<QueryKeyLayer>((resolve, reject) => {
      running.jobs.set(id, { resolve: resolve as Job['resolve'], reject });
      this.send(running, { type: 'queryKey', id, ids, layer });
    });
  }

  /** Ends the worker (the panel closing, a new backend, a crash); whatever waited on it fails with `why`. */
  stop(why: Error): void {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    r.worker?.terminate();
    if (r.scriptUrl) URL.revokeObjectURL(r.scriptUrl);
    r.fail(why);
  }

  private send(r: Running, m: PageToWorker, transfer: Transferable[] = []): void {
    r.worker.postMessage(m, transfer);
  }

  private start(setting: BackendSetting, logits: boolean): Running {
    const c = this.config;
    const inputs = this.inputs;
    const jobs = new Map<number, Job>();
    let failLoad: (e: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (failLoad = reject));
    failed.catch(() => undefined);
    inputs.restart();
    // Which build to load is decided before loading it: a WebAssembly run never loads the WebGPU one.
    const plan = probeWebGpu().then((adapter) => backendPlan(setting, adapter));
    const flavour = plan.then((p) => p.backend);
    const script = flavour.then((f) => inputs.script(f));
    const firstWasm = flavour.then((f) => {
      running.runtimeKey = inputs.runtimeKey(f);
      return inputs.runtime(f);
    });
    // Asked for after the runtime, so that the runtime arrives first and starts while the graph comes.
    const firstGraph = flavour.then(() => inputs.graph(false, logits));
    const text = inputs.text();
    for (const p of [firstWasm, firstGraph, text, script]) p.catch(() => undefined);

    const workerReady = script.then((source) => {
      const { worker, url } = startEngineWorker(source ?? '');
      running.scriptUrl = url;
      return worker;
    });
    const running: Running = {
      worker: undefined as unknown as Worker,
      setting,
      logits,
      jobs,
      cachedGraph: false,
      rebuilt: false,
      requestWaiting: false,
      sendModel: async (fromModelFile) => {
        const [p, g] = await Promise.all([plan, fromModelFile ? inputs.graph(true, logits) : firstGraph]);
        running.cachedGraph = g.prepared;
        inputs.report(g.prepared ? 'session' : 'surgery');
        const m: PageToWorker = {
          type: 'model',
          name: c.modelName,
          graph: g.bytes,
          prepared: g.prepared,
          sourceHash: inputs.preparedKey(logits),
          logits,
          setting: p.backend === 'wasm' ? 'wasm' : setting,
          note: p.note,
        };
        this.send(running, m, [g.bytes]);
      },
      loaded: undefined as unknown as Promise<{ backend: Backend; note: string | null }>,
      fail: (e) => {
        failLoad(e);
        for (const j of jobs.values()) j.reject(e);
        jobs.clear();
      },
    };
    let loadedResolve: (v: { backend: Backend; note: string | null }) => void = () => undefined;
    const loaded = new Promise<{ backend: Backend; note: string | null }>((resolve) => (loadedResolve = resolve));
    running.loaded = Promise.race([loaded, failed]);
    running.loaded.catch(() => undefined);

    void (async () => {
      try {
        const worker = await workerReady;
        if (this.running !== running) return worker.terminate();
        running.worker = worker;
        if (running.requestWaiting) this.send(running, { type: 'requestWaiting' });
        worker.addEventListener('error', (e) => {
          e.preventDefault();
          if (this.running === running)
            this.stop(new EngineStoppedError(`the engine stopped: ${e.message || 'its worker crashed'}`));
        });
        worker.addEventListener('message', (e: MessageEvent<unknown>) =>
          this.onWorkerMessage(running, e.data, loadedResolve),
        );
        // Each part goes to the worker as soon as it is here: the runtime starts while the graph
        // is still arriving, and the graph does not wait for the tokenizer.
        const sendRuntime = firstWasm.then(({ bytes, cacheAs }) =>
          this.send(running, { type: 'runtime', wasm: bytes, threads: engineThreads(), cacheAs }, [bytes]),
        );
        const sendText = text.then(([tokenizer, tokenizerConfig, config]) => {
          if (tokenizer === null) throw new Error('could not load the tokenizer');
          this.send(running, { type: 'text', tokenizer, tokenizerConfig, config });
        });
        await Promise.all([sendRuntime, sendText, running.sendModel(false)]);
      } catch (e) {
        if (this.running === running) this.stop(e as Error);
      }
    })();
    return running;
  }

  private onWorkerMessage(
    running: Running,
    data: unknown,
    loaded: (v: { backend: Backend; note: string | null }) => void,
  ): void {
    const parsed = parseWorkerMessage(data);
    if (!parsed.ok) {
      console.warn(`Attention Explorer: ignored a message from the engine: ${parsed.error}`);
      return;
    }
    const m: WorkerToPage = parsed.message;
    switch (m.type) {
      case 'stage': {
        this.timeline.span(m.stage, m.ms);
        this.timeline.mark(m.stage);
        const stage = STAGE_AFTER[m.stage];
        if (stage) this.inputs.report(stage);
        return;
      }
      case 'prepared':
        this.timeline.mark(m.cached ? 'prepared graph cached' : 'prepared graph not cached');
        return;
      case 'runtimeCached':
        this.timeline.mark(m.cached ? 'runtime cached' : 'runtime not cached');
        return;
      case 'preparedRejected':
        // Another version's, or cut short: dropped, and the graph is prepared again from the model.
        this.rebuildFromModel(running, m.reason);
        return;
      case 'needFiles':
        void this.sendExternal(running, m.files);
        return;
      case 'loaded':
        this.timeline.mark('engine ready');
        loaded({ backend: m.backend, note: m.note });
        return;
      case 'result': {
        const job = running.jobs.get(m.id);
        if (!job) return;
        running.jobs.delete(m.id);
        const store = new AttentionStore(m.windows, m.layers, m.heads);
        job.resolve({
          tokens: m.tokens,
          store,
          model: m.model,
          backend: m.backend,
          backendNote: m.backendNote,
          runMs: m.runMs,
          analysedEnd: m.analysedEnd,
          truncated: m.truncated,
          offsetsNote: m.offsetsNote,
          predictions: m.predictions,
          predictionKind: m.predictionKind,
          predictionsNote: m.predictionsNote,
          intervention: m.intervention,
          tokenizerId: m.tokenizerId,
          windows: m.windows.length,
          timings: m.timings,
        });
        return;
      }
      case 'queryKey': {
        const job = running.jobs.get(m.id);
        running.jobs.delete(m.id);
        job?.resolve(m.layer);
        return;
      }
      case 'error': {
        const err = m.broken ? new EngineBrokenError(m.message) : new Error(m.message);
        if (m.id === null) {
          // A graph from the cache that onnxruntime refuses (damaged inside): rebuilt from the model, once.
          if (running.cachedGraph && !running.rebuilt) {
            this.rebuildFromModel(running, m.message);
            return;
          }
          // The model failed to load: every request waiting on it fails with the reason, and what
          // the cache gave this load is dropped, so that the next try starts from the files.
          void this.inputs.forget({ runtimeKey: running.runtimeKey, logits: running.logits });
          if (this.running === running) this.stop(err);
          return;
        }
        const job = running.jobs.get(m.id);
        running.jobs.delete(m.id);
        job?.reject(err);
        return;
      }
      default:
        unreachable(m, 'message from the engine');
    }
  }

  private rebuildFromModel(running: Running, reason: string): void {
    console.warn(`Attention Explorer: the cached prepared graph was not used (${reason}); preparing it again.`);
    this.timeline.mark('prepared graph rejected');
    running.rebuilt = true;
    void this.inputs
      .forget({ logits: running.logits })
      .then(() => running.sendModel(true))
      .catch((e: Error) => this.running === running && this.stop(e));
  }

  private async sendExternal(running: Running, files: string[]): Promise<void> {
    try {
      const data = await this.inputs.externals(files);
      this.send(
        running,
        { type: 'files', files: data },
        data.map((f) => f.data),
      );
    } catch (e) {
      if (this.running === running) this.stop(e as Error);
    }
  }
}
