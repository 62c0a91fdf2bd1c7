/**
 * The page's side of the engine. The engine itself runs in a worker (webview/engine-worker.ts);
 * this fetches what it needs on the page — fetches from inside a webview worker are unreliable —
 * and transfers the bytes: the runtime's WebAssembly (the plain build unless WebGPU will be
 * used), the graph, the tokenizer. Everything is fetched at once, when the page opens, before the
 * first request; a fetch's progress (bytes) is reported for the panel to show.
 */
import { AttentionStore } from '../src/common/attention-store';
import type { Backend, BackendSetting, HostToWebview, PageFile } from '../src/common/protocol';
import type { EngineResult, EngineStage } from '../src/engine/model-engine';
import { backendPlan, probeWebGpu } from '../src/engine/backend-plan';
import type { WebviewConfig } from './config';
import { ByteCache } from './byte-cache';
import type { PageTimeline } from './timeline';
import { parseWorkerMessage, type PageToWorker, type WorkerToPage } from './worker-protocol';

export type { EngineResult };

/** What the panel shows while the engine loads. */
export interface LoadProgress {
  stage: 'fetch' | EngineStage;
  /** Bytes fetched so far and in all (all: 0 while unknown). */
  fetched: number;
  total: number;
}

/** The runtime can run nothing more in this page (a WebGPU device lost in the middle of a run). */
export class EngineBrokenError extends Error {}
/** The worker itself stopped (crashed, or ran out of memory): a new one is started on the next request. */
export class EngineStoppedError extends Error {}

type Flavour = Backend;

interface Job {
  resolve: (r: EngineResult) => void;
  reject: (e: Error) => void;
}

interface Running {
  worker: Worker;
  setting: BackendSetting;
  /** Sends the runtime and the graph (again, from the model file, when a cached graph was refused). */
  sendModel: (fromModelFile: boolean) => Promise<void>;
  /** The worker's script (a blob: URL), released with the worker. */
  scriptUrl?: string;
  /** What this load took from the cache: the runtime's key; whether the graph came prepared. */
  runtimeKey?: string;
  cachedGraph: boolean;
  /** The graph was sent again from the model file after the cached one was refused. */
  rebuilt: boolean;
  loaded: Promise<{ backend: Backend; note: string | null }>;
  jobs: Map<number, Job>;
  fail: (e: Error) => void;
}

/**
 * onnxruntime's threads: only where the page is cross-origin isolated (SharedArrayBuffer exists),
 * which VS Code gives webviews when started with `--enable-coi` (desktop) or `?vscode-coi` (web).
 */
export function engineThreads(): number {
  if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/** Streams a response, reporting bytes as they arrive. */
async function fetchBytes(url: string, what: string, onBytes: (n: number, total: number) => void): Promise<ArrayBuffer> {
  const res = await fetch(url).catch((e: Error) => {
    throw new Error(`could not load the ${what} (${e.message})`);
  });
  if (!res.ok) throw new Error(`could not load the ${what} (${res.status} ${res.statusText})`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) return res.arrayBuffer();
  const reader = res.body.getReader();
  // With the size known, each chunk is copied into place as it arrives: gathering them at the end
  // blocked the page for 1.3 s on a 435 MB graph (measured).
  const whole = total ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (whole && n + value.byteLength <= total) whole.set(value, n);
    else chunks.push(value);
    n += value.byteLength;
    onBytes(n, total);
  }
  if (total && n !== total) throw new Error(`the ${what} arrived cut off (${n} of ${total} bytes)`);
  if (whole) return whole.buffer;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.buffer;
}

async function fetchText(url: string | null, what: string): Promise<string | null> {
  if (!url) return null;
  const res = await fetch(url).catch(() => undefined);
  if (!res?.ok) throw new Error(`could not load the ${what}`);
  return res.text();
}

/** The largest graph the page asks the host for (larger ones are fetched by URL, streamed). */
const HOST_MAX_BYTES = 64 * 1024 * 1024;

type FileMessage = Extract<HostToWebview, { type: 'file' | 'fileError' }>;

export class EngineClient {
  private running?: Running;
  private readonly cache: Promise<ByteCache | null>;
  private progress: Record<string, { n: number; total: number }> = {};
  /** Files asked of the host, waiting for its answer. */
  private readonly asked = new Map<PageFile, { resolve: (b: ArrayBuffer) => void; reject: (e: Error) => void }[]>();

  constructor(
    private readonly config: WebviewConfig,
    private readonly timeline: PageTimeline,
    private readonly onProgress: (p: LoadProgress) => void,
    /** Asks the host for a file (config.bytesFrom 'host'); the answer comes to receiveFile. */
    private readonly askHost: (file: PageFile) => void,
  ) {
    // Manage Model Cache asked for the panel's cache to be emptied: done before anything is read.
    this.cache = (config.clearCache ? ByteCache.clear() : Promise.resolve()).then(() => ByteCache.open());
  }

  /** The host's answer to a `readFile`. */
  receiveFile(m: FileMessage): void {
    const waiting = this.asked.get(m.file) ?? [];
    this.asked.delete(m.file);
    if (m.type === 'fileError') {
      for (const w of waiting) w.reject(new Error(m.message));
      return;
    }
    const whole = m.data.byteOffset === 0 && m.data.byteLength === m.data.buffer.byteLength;
    // Each waiter gets its own buffer: each transfers it to the worker.
    waiting.forEach((w, i) => w.resolve(i === 0 && whole ? (m.data.buffer as ArrayBuffer) : m.data.slice().buffer));
  }

  private fromHost(file: PageFile): Promise<ArrayBuffer> {
    return new Promise((resolve, reject) => {
      const list = this.asked.get(file) ?? [];
      if (list.length === 0) this.askHost(file);
      list.push({ resolve, reject });
      this.asked.set(file, list);
    });
  }

  /** Starts (or keeps) the worker for a backend setting, and loads the model into it. */
  prepare(setting: BackendSetting): Promise<{ backend: Backend; note: string | null }> {
    if (this.running?.setting === setting) return this.running.loaded;
    this.stop(new Error('the backend setting changed'));
    const running = this.start(setting);
    this.running = running;
    return running.loaded;
  }

  /** Runs one analysis; the caller keeps at most one in flight and drops what a newer one supersedes. */
  async analyse(id: number, text: string, setting: BackendSetting, maxTokens: number): Promise<EngineResult> {
    await this.prepare(setting);
    const running = this.running;
    if (!running) throw new EngineStoppedError('the engine stopped while loading');
    return new Promise<EngineResult>((resolve, reject) => {
      running.jobs.set(id, { resolve, reject });
      this.send(running, { type: 'analyse', id, text, maxTokens });
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

  private report(stage: LoadProgress['stage']): void {
    const all = Object.values(this.progress);
    this.onProgress({ stage, fetched: all.reduce((s, p) => s + p.n, 0), total: all.every((p) => p.total) ? all.reduce((s, p) => s + p.total, 0) : 0 });
  }

  /**
   * A large file, with its progress and time recorded: from the host (the faster way in VS Code,
   * measured) for the runtime and a graph of up to HOST_MAX_BYTES; by URL otherwise — a graph of
   * hundreds of MB is streamed with its progress shown, not held whole in the extension host and
   * in one message. External data files (large by nature) always come by URL.
   */
  private fetchTracked(file: PageFile, url: string, what: string): Promise<ArrayBuffer> {
    this.progress[what] = { n: 0, total: 0 };
    const t0 = performance.now();
    const small = file.startsWith('runtime:') || (file === 'model' && this.config.modelBytes > 0 && this.config.modelBytes <= HOST_MAX_BYTES);
    const bytes =
      this.config.bytesFrom === 'host' && small
        ? this.fromHost(file)
        : fetchBytes(url, what, (n, total) => {
            this.progress[what] = { n, total };
            this.report('fetch');
          });
    return bytes.then((b) => {
      this.progress[what] = { n: b.byteLength, total: b.byteLength };
      this.report('fetch');
      this.timeline.span(`fetch ${what}`, performance.now() - t0);
      this.timeline.mark(`${what} fetched`);
      return b;
    });
  }

  private start(setting: BackendSetting): Running {
    const c = this.config;
    const jobs = new Map<number, Job>();
    let failLoad: (e: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (failLoad = reject));
    failed.catch(() => undefined);
    this.progress = {};
    // Which build to load is decided before loading it: a WebAssembly run never loads the WebGPU one.
    const plan = probeWebGpu().then((adapter) => backendPlan(setting, adapter));
    const flavour = plan.then((p): Flavour => p.backend);
    const script = flavour.then((f) => fetchText(`${c.engineBase}engine-worker-${f}.js`, 'engine'));
    const firstWasm = flavour.then((f) => this.cached('runtime', (running.runtimeKey = `${f}/${c.runtimeKey}`), () => this.fetchTracked(`runtime:${f}`, `${c.engineBase}ort/ort-wasm-simd-threaded${f === 'webgpu' ? '.jsep' : ''}.wasm`, 'runtime')));
    // The graph after surgery when the cache has it for this model's content; the model file otherwise.
    const graph = async (fromModelFile: boolean): Promise<{ bytes: ArrayBuffer; prepared: boolean }> => {
      const hit = !fromModelFile && c.modelHash ? await (await this.cache)?.get('prepared', c.modelHash) : undefined;
      if (hit) {
        this.timeline.mark('prepared graph from the cache');
        return { bytes: hit, prepared: true };
      }
      return { bytes: await this.fetchTracked('model', c.modelUrl, 'model'), prepared: false };
    };
    // Asked for after the runtime, so that the runtime arrives first and starts while the graph comes.
    const firstGraph = flavour.then(() => graph(false));
    const text = Promise.all([fetchText(c.tokenizerUrl, 'tokenizer'), fetchText(c.tokenizerConfigUrl, 'tokenizer config').catch(() => null), fetchText(c.configUrl, 'model config').catch(() => null)]);
    for (const p of [firstWasm, firstGraph, text, script]) p.catch(() => undefined);

    const workerReady = script.then((source) => {
      const url = URL.createObjectURL(new Blob([source ?? ''], { type: 'text/javascript' }));
      const worker = new Worker(url, { type: 'module', name: 'attention-explorer-engine' });
      // Not revoked: with threads, onnxruntime starts its thread workers from this same URL.
      running.scriptUrl = url;
      return worker;
    });
    const running: Running = {
      worker: undefined as unknown as Worker,
      setting,
      jobs,
      cachedGraph: false,
      rebuilt: false,
      sendModel: async (fromModelFile) => {
        const [p, g] = await Promise.all([plan, fromModelFile ? graph(true) : firstGraph]);
        running.cachedGraph = g.prepared;
        this.report(g.prepared ? 'session' : 'surgery');
        const m: PageToWorker = { type: 'model', name: c.modelName, graph: g.bytes, prepared: g.prepared, sourceHash: c.modelHash, setting: p.backend === 'wasm' ? 'wasm' : setting, note: p.note };
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
        worker.addEventListener('error', (e) => {
          e.preventDefault();
          if (this.running === running) this.stop(new EngineStoppedError(`the engine stopped: ${e.message || 'its worker crashed'}`));
        });
        worker.addEventListener('message', (e: MessageEvent<unknown>) => this.onWorkerMessage(running, e.data, loadedResolve));
        // Each part goes to the worker as soon as it is here: the runtime starts while the graph
        // is still arriving, and the graph does not wait for the tokenizer.
        const sendRuntime = firstWasm.then((w) => this.send(running, { type: 'runtime', wasm: w, threads: engineThreads() }, [w]));
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

  private onWorkerMessage(running: Running, data: unknown, loaded: (v: { backend: Backend; note: string | null }) => void): void {
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
        const next: Record<EngineStage, LoadProgress['stage'] | null> = { runtime: null, tokenizer: null, surgery: 'session', session: 'warm-up', 'warm-up': 'warm-up' };
        const stage = next[m.stage];
        if (stage) this.report(stage);
        return;
      }
      case 'prepared':
        this.timeline.mark(m.cached ? 'prepared graph cached' : 'prepared graph not cached');
        return;
      case 'preparedRejected':
        // Another version's, or cut short: dropped, and the graph is prepared again from the model.
        this.rebuildFromModel(running, m.reason);
        return;
      case 'needFiles':
        void this.sendExternal(running, m.files);
        return;
      case 'loaded':
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
          windows: m.windows.length,
          timings: m.timings,
        });
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
          void this.cache.then(async (cache) => {
            if (running.runtimeKey) await cache?.delete('runtime', running.runtimeKey);
            if (this.config.modelHash) await cache?.delete('prepared', this.config.modelHash);
          });
          if (this.running === running) this.stop(err);
          return;
        }
        const job = running.jobs.get(m.id);
        running.jobs.delete(m.id);
        job?.reject(err);
        return;
      }
      default: {
        const never: never = m;
        throw new Error(`unhandled engine message ${String(never)}`);
      }
    }
  }

  /** A file from the page's cache, or from `load` (then stored for next time). */
  private async cached(kind: 'runtime', key: string, load: () => Promise<ArrayBuffer>): Promise<ArrayBuffer> {
    const cache = await this.cache;
    const hit = await cache?.get(kind, key);
    if (hit) {
      this.timeline.mark(`${kind} from the cache`);
      return hit;
    }
    const bytes = await load();
    // The Response made from the bytes is a copy: they can be transferred right after.
    void cache?.put(kind, key, bytes);
    return bytes;
  }

  private rebuildFromModel(running: Running, reason: string): void {
    console.warn(`Attention Explorer: the cached prepared graph was not used (${reason}); preparing it again.`);
    this.timeline.mark('prepared graph rejected');
    running.rebuilt = true;
    const hash = this.config.modelHash ?? '';
    void this.cache
      .then((cache) => cache?.delete('prepared', hash))
      .then(() => running.sendModel(true))
      .catch((e: Error) => this.running === running && this.stop(e));
  }

  private async sendExternal(running: Running, files: string[]): Promise<void> {
    const base = this.config.modelUrl.slice(0, this.config.modelUrl.lastIndexOf('/') + 1);
    try {
      const data = await Promise.all(files.map(async (f) => ({ path: f, data: await this.fetchTracked(`external:${f}`, base + f, `external data file ${f}`) })));
      this.send(running, { type: 'files', files: data }, data.map((f) => f.data));
    } catch (e) {
      if (this.running === running) this.stop(e as Error);
    }
  }
}
