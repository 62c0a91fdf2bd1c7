import type { Backend, PageFile } from '../src/common/protocol';
import type { EngineStage } from '../src/engine/model-engine';
import { ByteCache } from './byte-cache';
import type { WebviewConfig } from './config';
import type { PageSources } from '../src/common/webview-config';
import { fetchBytes, fetchText } from './fetch-bytes';
import { HostFiles } from './host-files';
import type { PageTimeline } from './timeline';

/** What the panel shows while the engine loads. */
export interface LoadProgress {
  stage: 'fetch' | EngineStage;
  /** Bytes fetched so far and in all (all: 0 while unknown). */
  fetched: number;
  total: number;
}

/** The largest graph the page asks the host for (larger ones are fetched by URL, streamed). */
const HOST_MAX_BYTES = 64 * 1024 * 1024;

/**
 * How long the host's local server has to begin answering. On the same machine it answers in
 * milliseconds; a browser elsewhere (code-server used remotely) gets no answer or a refusal.
 */
const DIRECT_ANSWER_MS = 3000;

/**
 * Whether the page itself comes from this machine: VS Code's own scheme (desktop) or a loopback
 * host (code-server opened on 127.0.0.1 / localhost). A page from a remote host would make the
 * browser ask the user for access to the local network (Chromium's Local Network Access), for a
 * server that is not on the browser's machine anyway.
 */
export function pageIsLocal(where: { protocol: string; hostname: string }): boolean {
  if (where.protocol !== 'http:' && where.protocol !== 'https:') return true;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(where.hostname) || where.hostname.endsWith('.localhost');
}

/**
 * Where the engine's inputs come from: the page's cache (the runtime, the prepared graph); the
 * host's local server (config.direct: every file, ten times faster than VS Code's ways, measured);
 * failing that, VS Code's ways — the host (`readFile`: the runtime and a graph of up to
 * HOST_MAX_BYTES, the faster of the two) or a webview URL (larger graphs streamed, external data,
 * the tokenizer). Each large file's bytes and time are recorded, and the bytes so far reported
 * for the panel to show.
 */
export class EngineInputs {
  readonly hostFiles: HostFiles;
  private readonly cache: Promise<ByteCache | null>;
  private progress: Record<string, { n: number; total: number }> = {};
  /** The local server's URLs, until a fetch from it fails: then VS Code's ways for the page's life. */
  private direct: PageSources | null;

  constructor(
    private readonly config: WebviewConfig,
    private readonly timeline: PageTimeline,
    private readonly onProgress: (p: LoadProgress) => void,
    askHost: (file: PageFile) => void,
  ) {
    this.hostFiles = new HostFiles(askHost);
    this.direct = config.direct && pageIsLocal(location) ? config.direct : null;
    // Manage Model Cache asked for the panel's cache to be emptied: done before anything is read.
    this.cache = (config.clearCache ? ByteCache.clear() : Promise.resolve()).then(() => ByteCache.open());
  }

  /** A new load: the bytes reported start from nothing. */
  restart(): void {
    this.progress = {};
  }

  report(stage: LoadProgress['stage']): void {
    const all = Object.values(this.progress);
    const fetched = all.reduce((s, p) => s + p.n, 0);
    const total = all.every((p) => p.total) ? all.reduce((s, p) => s + p.total, 0) : 0;
    this.onProgress({ stage, fetched, total });
  }

  /** The engine's script for a runtime flavour (started by the page from a blob: URL). */
  script(flavour: Backend): Promise<string | null> {
    return this.from('engine', (s, ms) => fetchText(`${s.engineBase}engine-worker-${flavour}.js`, 'engine', ms));
  }

  /** The cache key of a runtime flavour's WebAssembly. */
  runtimeKey(flavour: Backend): string {
    return `${flavour}/${this.config.runtimeKey}`;
  }

  /**
   * The runtime's WebAssembly: from the page's cache, else fetched, with the key the worker caches
   * it under once the model has loaded (`cacheAs`; null when it came from the cache). Not cached
   * here: copying 14 MB for the cache was a task of 50–126 ms on the page's main thread (measured).
   */
  async runtime(flavour: Backend): Promise<{ bytes: ArrayBuffer; cacheAs: string | null }> {
    const key = this.runtimeKey(flavour);
    const cache = await this.cache;
    const hit = await cache?.get('runtime', key);
    if (hit) {
      this.timeline.mark('runtime from the cache');
      return { bytes: hit, cacheAs: null };
    }
    const file = `ort-wasm-simd-threaded${flavour === 'webgpu' ? '.jsep' : ''}.wasm`;
    const bytes = await this.fetchTracked(`runtime:${flavour}`, (s) => `${s.engineBase}ort/${file}`, 'runtime');
    return { bytes, cacheAs: cache ? key : null };
  }

  /**
   * What the graph after surgery is cached under: the model file's content hash, and a key of its
   * own for the graph that keeps the language-model head (`logits`); null when not cached.
   */
  preparedKey(logits: boolean): string | null {
    const hash = this.config.modelHash;
    return hash && logits ? `${hash}+logits` : hash;
  }

  /** The graph after surgery when the cache has it for this model's content; the model file otherwise. */
  async graph(fromModelFile: boolean, logits = false): Promise<{ bytes: ArrayBuffer; prepared: boolean }> {
    const hash = this.preparedKey(logits);
    const hit = !fromModelFile && hash ? await (await this.cache)?.get('prepared', hash) : undefined;
    if (hit) {
      this.timeline.mark('prepared graph from the cache');
      return { bytes: hit, prepared: true };
    }
    const { modelBytes } = this.config;
    const fromHost = modelBytes > 0 && modelBytes <= HOST_MAX_BYTES;
    return {
      bytes: await this.fetchTracked(fromHost ? 'model' : null, (s) => s.modelUrl, 'model'),
      prepared: false,
    };
  }

  /** The external data files the graph names, from beside it (large by nature: always by URL). */
  externals(files: string[]): Promise<{ path: string; data: ArrayBuffer }[]> {
    const besideGraph = (s: PageSources, f: string): string => s.modelUrl.slice(0, s.modelUrl.lastIndexOf('/') + 1) + f;
    return Promise.all(
      files.map(async (f) => ({
        path: f,
        data: await this.fetchTracked(null, (s) => besideGraph(s, f), `external data file ${f}`),
      })),
    );
  }

  /** The tokenizer (required) and the tokenizer and model configs (optional). */
  text(): Promise<[string | null, string | null, string | null]> {
    return Promise.all([
      this.from('tokenizer', (s, ms) => fetchText(s.tokenizerUrl, 'tokenizer', ms)),
      this.from('tokenizer config', (s, ms) => fetchText(s.tokenizerConfigUrl, 'tokenizer config', ms)).catch(
        () => null,
      ),
      this.from('model config', (s, ms) => fetchText(s.configUrl, 'model config', ms)).catch(() => null),
    ]);
  }

  /**
   * A file from the local server while it answers (`get` is then given how long it may wait for an
   * answer), else by VS Code's ways. The server's first failure is marked on the timeline (with
   * why) and ends its use; the file is then asked again.
   */
  private async from<T>(what: string, get: (s: PageSources, answerMs?: number) => Promise<T>): Promise<T> {
    const direct = this.direct;
    if (direct) {
      try {
        const got = await get(direct, DIRECT_ANSWER_MS);
        this.timeline.mark('local server used');
        return got;
      } catch (e) {
        if (this.direct === direct) {
          this.direct = null;
          this.timeline.mark(`local server failed: ${(e as Error).message}`);
          console.warn(`Attention Explorer: the ${what} came through VS Code instead: ${(e as Error).message}`);
        }
      }
    }
    return get(this.config);
  }

  /** Drops what the cache gave a load that failed, so that the next try starts from the files. */
  async forget(what: { runtimeKey?: string; logits: boolean }): Promise<void> {
    const cache = await this.cache;
    if (what.runtimeKey) await cache?.delete('runtime', what.runtimeKey);
    const key = this.preparedKey(what.logits);
    if (key) await cache?.delete('prepared', key);
  }

  /**
   * A large file with its progress and time recorded: from the local server when it answers;
   * else asked of the host when `hostFile` names it and the page has a host; by URL otherwise,
   * streamed with its progress shown.
   */
  private fetchTracked(
    hostFile: PageFile | null,
    urlOf: (s: PageSources) => string,
    what: string,
  ): Promise<ArrayBuffer> {
    this.progress[what] = { n: 0, total: 0 };
    const t0 = performance.now();
    const streamed = (url: string, answerMs?: number): Promise<ArrayBuffer> =>
      fetchBytes(
        url,
        what,
        (n, total) => {
          this.progress[what] = { n, total };
          this.report('fetch');
        },
        answerMs,
      );
    // answerMs is set for the local server only.
    const bytes = this.from(what, (s, answerMs) =>
      answerMs === undefined && this.config.bytesFrom === 'host' && hostFile
        ? this.hostFiles.get(hostFile)
        : streamed(urlOf(s), answerMs),
    );
    return bytes.then((b) => {
      this.progress[what] = { n: b.byteLength, total: b.byteLength };
      this.report('fetch');
      this.timeline.span(`fetch ${what}`, performance.now() - t0);
      this.timeline.mark(`${what} fetched`);
      return b;
    });
  }
}
