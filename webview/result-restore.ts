/**
 * The panel's last result, kept in its cache so that the page VS Code restores after a window
 * reload shows it at once, instead of waiting for the runtime and the model to load again (2.6–3.8 s
 * here) to run the same text. It answers only the same request with the same graph file.
 */
import { AttentionStore } from '../src/common/attention-store';
import type { AnalyseRequest } from '../src/common/protocol';
import type { EngineResult } from '../src/engine/model-engine';
import { ByteCache } from './byte-cache';
import { decodeResult, encodeResult, keptBytes } from './result-file';

const KEY = 'last';
/** Written this long after a result is drawn, unless a newer one came: a burst of re-runs writes once. */
const WRITE_AFTER_MS = 300;
/**
 * The largest result kept (its attention's bytes). Encoding it is one task on the page's main
 * thread, about 1 ms a MiB: this keeps it under the 100 ms a task may take without the page lagging.
 */
const MAX_BYTES = 32 * 1024 * 1024;

/** JSON with every object's keys sorted: the saved state's copy of a request may order them otherwise. */
const canonical = (x: unknown): string =>
  JSON.stringify(x, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/**
 * What a kept result answers: the request but its id (each key press has a new one; the same text
 * with the same settings on the same graph gives the same result).
 */
const answers = (request: AnalyseRequest): string => canonical({ ...request, requestId: 0 });

/** The part of the panel's cache this uses (a Map will do, under Node). */
export type RestoreCache = Pick<ByteCache, 'get' | 'put' | 'delete'>;

export class ResultRestore {
  private timer?: ReturnType<typeof setTimeout>;
  private replaced?: () => void;
  /** What the result this page last kept answers: the same again is not written again (re-runs). */
  private kept?: string;

  /** `modelHash`: the graph file's SHA-256 (null: unknown, and nothing is kept or restored). */
  constructor(
    private readonly modelHash: string | null,
    private readonly openCache: () => Promise<RestoreCache | null> = () => ByteCache.open(),
  ) {}

  /**
   * Keeps `r`, the answer to `request`, once the page has had a moment without a newer result.
   * Resolves when it is written (or dropped: too large, no cache), or replaced by a newer one.
   */
  keepSoon(r: EngineResult, request: AnalyseRequest): Promise<void> {
    clearTimeout(this.timer);
    this.replaced?.();
    const modelHash = this.modelHash;
    if (!modelHash) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.replaced = resolve;
      this.timer = setTimeout(() => {
        this.replaced = undefined;
        void this.write(r, request, modelHash)
          .catch(() => undefined)
          .then(resolve);
      }, WRITE_AFTER_MS);
    });
  }

  private async write(r: EngineResult, request: AnalyseRequest, modelHash: string): Promise<void> {
    const key = answers(request);
    if (key === this.kept) return;
    this.kept = undefined;
    // A result too large to keep: the one kept before no longer answers what the panel shows.
    if (keptBytes(r.store.windows) > MAX_BYTES) {
      await (await this.openCache())?.delete('restore', KEY);
      return;
    }
    const { tokens, store, model, tokenizerId, ...rest } = r;
    const file = encodeResult({
      tokens,
      model,
      tokenizerId,
      source: request.source,
      heads: store.heads,
      windows: store.windows,
      restore: { modelHash, request, rest },
    });
    if (await (await this.openCache())?.put('restore', KEY, file)) this.kept = key;
  }

  /** The result kept for `request` with this graph, or null (none kept, another request or graph, unreadable). */
  async read(request: AnalyseRequest): Promise<EngineResult | null> {
    if (!this.modelHash) return null;
    const file = await (await this.openCache())?.get('restore', KEY);
    const kept = file ? decodeResult(file) : null;
    const restore = kept?.restore;
    if (!kept || restore?.modelHash !== this.modelHash || answers(restore.request) !== answers(request)) return null;
    const store = new AttentionStore(kept.windows, kept.model.layers, kept.heads);
    return { ...restore.rest, tokens: kept.tokens, model: kept.model, tokenizerId: kept.tokenizerId, store };
  }
}
