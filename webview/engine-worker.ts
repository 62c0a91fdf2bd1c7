/**
 * The engine's worker: tokenizing, graph surgery, session creation and runs happen here, off the
 * page's main thread, so that the panel keeps drawing and answering while a model loads or runs.
 * Built twice (tools/build.mjs): with onnxruntime-web's plain WebAssembly build, and with its
 * WebGPU (JSEP) build; the page starts the one its backend needs.
 */
import { EngineBrokenError } from '../src/engine/session';
import { ModelEngine } from '../src/engine/model-engine';
import { initRuntime, setUpRuntime } from '../src/engine/runtime-init';
import { decodePreparedGraph, encodePreparedGraph, PreparedGraphError } from '../src/engine/prepared-graph-file';
import { ByteCache } from './byte-cache';
import { parsePageMessage, type PageToWorker, type WindowPayload, type WorkerToPage } from './worker-protocol';

interface WorkerScope {
  postMessage(m: WorkerToPage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<unknown>) => void): void;
}
const scope = self as unknown as WorkerScope;
const post = (m: WorkerToPage, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);
/** How long after the model's load the runtime's binary is written to the cache (after the first run). */
const RUNTIME_CACHE_DELAY_MS = 1000;

/** The engine's side of the page's messages (not run in onnxruntime's own thread workers). */
function serveEngine(): void {
  setUpRuntime();

  const engine = new ModelEngine((stage, ms) => post({ type: 'stage', stage, ms }));
  /** The model's load; an analysis waits for it and fails with its error. */
  let loading: Promise<unknown> = Promise.reject(new Error('the model was not sent to the engine'));
  loading.catch(() => undefined);
  let textError: unknown;
  /** Resolves once a model has loaded (a failed load leaves nothing to cache: the page drops what it cached). */
  let modelLoaded: () => void = () => undefined;
  const loadedOnce = new Promise<void>((resolve) => (modelLoaded = resolve));
  let threads = 1;
  /** The runtime's start: begun as soon as its binary arrives, while the graph may still be on its way. */
  let runtimeArrived: () => void = () => undefined;
  const runtime = new Promise<void>((resolve) => (runtimeArrived = resolve)).then(async () => {
    const t = performance.now();
    await initRuntime();
    post({ type: 'stage', stage: 'runtime', ms: performance.now() - t });
  });
  runtime.catch(() => undefined); // its failure is the model load's to report
  let filesArrived: ((files: { path: string; data: Uint8Array }[]) => void) | undefined;

  /** Asks the page for the graph's external data files and waits for them. */
  function fetchExternal(files: string[]): Promise<{ path: string; data: Uint8Array }[]> {
    return new Promise((resolve) => {
      filesArrived = resolve;
      post({ type: 'needFiles', files });
    });
  }
  /**
   * Keeps the runtime's binary in the panel's cache for the next page: a while after the model has
   * loaded, so that the copy (14 MB) delays neither the load nor the first run.
   */
  function cacheRuntime(key: string, wasm: ArrayBuffer): void {
    void loadedOnce
      .then(() => new Promise((r) => setTimeout(r, RUNTIME_CACHE_DELAY_MS)))
      .then(() => ByteCache.open())
      .then((c) => c?.put('runtime', key, wasm))
      .then((ok) => post({ type: 'runtimeCached', cached: ok === true }));
  }

  /** Runs happen one after another: a session cannot run twice at once. */
  let queue: Promise<unknown> = Promise.resolve();
  /** The page has a request waiting for the model: the load skips its warm-up run (the request's run compiles). */
  let requestWaiting = false;

  /** A layer's buffer, alone: transferred as is when the array spans it, copied otherwise. */
  const own = (a: Float32Array): Float32Array =>
    a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();

  async function analyse(m: Extract<PageToWorker, { type: 'analyse' }>, received: number): Promise<void> {
    const started = performance.now();
    await loading;
    if (textError) throw textError;
    const r = await engine.analyse(m.text, m.maxTokens, {
      predictions: m.predictions,
      intervention: m.intervention ?? undefined,
    });
    const windows: WindowPayload[] = r.store.windows.map((w) => ({
      start: w.start,
      length: w.length,
      lead: [...(w.lead ?? [])],
      trail: [...(w.trail ?? [])],
      layers: w.layers.map(own),
    }));
    const transfer = windows.flatMap((w) => w.layers.map((l) => l.buffer as ArrayBuffer));
    post(
      {
        type: 'result',
        id: m.id,
        tokens: r.tokens,
        windows,
        layers: r.store.layers,
        heads: r.store.heads,
        model: r.model,
        backend: r.backend,
        backendNote: r.backendNote,
        runMs: r.runMs,
        analysedEnd: r.analysedEnd,
        truncated: r.truncated,
        offsetsNote: r.offsetsNote,
        predictions: r.predictions,
        predictionKind: r.predictionKind,
        predictionsNote: r.predictionsNote,
        intervention: r.intervention,
        tokenizerId: r.tokenizerId,
        // How long the request waited in the worker's queue, and its whole time there.
        timings: { ...r.timings, threads, queued: started - received, worker: performance.now() - received },
      },
      transfer,
    );
  }

  const fail =
    (id: number | null) =>
    (e: unknown): void => {
      const message = (e as Error)?.message || String(e);
      post({ type: 'error', id, message, broken: e instanceof EngineBrokenError });
    };

  scope.addEventListener('message', (event) => {
    const parsed = parsePageMessage(event.data);
    if (!parsed.ok) {
      // Not the engine's to act on, and no reason to stop it: said, and dropped.
      console.warn(`Attention Explorer engine: ignored a message: ${parsed.error}`);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'text':
        try {
          textError = undefined;
          engine.loadText(m);
        } catch (e) {
          textError = e;
        }
        return;
      case 'runtime':
        // Threads need cross-origin isolation (SharedArrayBuffer): the page says how many it may use.
        setUpRuntime({ wasmBinary: m.wasm, threads: m.threads });
        threads = m.threads;
        runtimeArrived();
        if (m.cacheAs) cacheRuntime(m.cacheAs, m.wasm);
        return;
      case 'model': {
        let graph: Uint8Array | ReturnType<typeof decodePreparedGraph> = new Uint8Array(m.graph);
        if (m.prepared) {
          try {
            graph = decodePreparedGraph(graph, m.sourceHash ?? '');
          } catch (e) {
            if (!(e instanceof PreparedGraphError)) throw e;
            post({ type: 'preparedRejected', reason: e.message });
            return;
          }
        }
        const hash = m.sourceHash;
        const cache = (g: Parameters<typeof encodePreparedGraph>[0]): void => {
          if (!hash) return;
          // Written from here, not the page: a graph of hundreds of MB copied into the cache on the
          // page's thread blocked it for 5 s (measured, BERT-base-sized).
          const file = encodePreparedGraph(g, hash);
          void ByteCache.open()
            .then((c) => c?.put('prepared', hash, file.buffer as ArrayBuffer))
            .then((ok) => post({ type: 'prepared', cached: ok === true }));
        };
        const load = engine.loadModel({ name: m.name, graph, external: fetchExternal }, m.setting, {
          note: m.note,
          onPrepared: cache,
          runtime,
          logits: m.logits,
          interventions: true,
          warmUp: () => !requestWaiting,
        });
        loading = load;
        load.then((s) => {
          post({ type: 'loaded', backend: s.backend, note: s.backendNote });
          modelLoaded();
        }, fail(null));
        return;
      }
      case 'requestWaiting':
        requestWaiting = true;
        return;
      case 'files':
        filesArrived?.(m.files.map((f) => ({ path: f.path, data: new Uint8Array(f.data) })));
        filesArrived = undefined;
        return;
      case 'analyse': {
        const received = performance.now();
        const job = queue.then(() => analyse(m, received)).catch(fail(m.id));
        queue = job;
        return;
      }
      case 'queryKey': {
        const job = queue
          .then(async () => {
            await loading;
            const layer = await engine.queryKey(m.ids, m.layer);
            const transfer = [layer.q.buffer, layer.k.buffer, ...(layer.mask ? [layer.mask.buffer] : [])];
            post({ type: 'queryKey', id: m.id, layer }, transfer as ArrayBuffer[]);
          })
          .catch(fail(m.id));
        queue = job;
        return;
      }
      default: {
        const never: never = m;
        throw new Error(`unhandled message ${String(never)}`);
      }
    }
  });
}

// With threads, onnxruntime starts its thread workers from this same script (`em-pthread`): those
// run its code only, not the engine's.
if (!(self as unknown as { name?: string }).name?.startsWith('em-pthread')) serveEngine();
