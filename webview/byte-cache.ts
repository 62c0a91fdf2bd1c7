/**
 * The panel's own cache of large files, in the page's CacheStorage: it survives a window reload
 * and a new window (VS Code keeps a webview's origin, and with it its storage, across them). It
 * holds the runtime's WebAssembly and the graphs after surgery, keyed by content (the extension's
 * runtime files' identity; the model file's SHA-256), so that a later load moves no model bytes
 * through VS Code at all. Bounded: the newest few of each kind are kept. Without CacheStorage
 * (an environment that lacks it), nothing is cached and nothing fails.
 */
const CACHE_NAME = 'attention-explorer-v1';
const BASE = 'https://attention-explorer.cache/';
export type CacheKind = 'prepared' | 'runtime';
/** How many entries of each kind are kept (the newest). */
const KEEP: Record<CacheKind, number> = { prepared: 3, runtime: 2 };

export class ByteCache {
  private constructor(private readonly cache: Cache) {}

  static async open(): Promise<ByteCache | null> {
    try {
      if (typeof caches === 'undefined') return null;
      return new ByteCache(await caches.open(CACHE_NAME));
    } catch {
      return null; // storage unavailable (a private or restricted context)
    }
  }

  static async clear(): Promise<void> {
    if (typeof caches !== 'undefined') await caches.delete(CACHE_NAME).catch(() => false);
  }

  async get(kind: CacheKind, key: string): Promise<ArrayBuffer | undefined> {
    try {
      const r = await this.cache.match(`${BASE}${kind}/${encodeURIComponent(key)}`);
      if (!r) return undefined;
      const bytes = await r.arrayBuffer();
      // An entry cut short (the page closed while it was written) is dropped.
      if (bytes.byteLength !== Number(r.headers.get('x-bytes'))) {
        await this.delete(kind, key);
        return undefined;
      }
      return bytes;
    } catch {
      return undefined;
    }
  }

  /** Stores a copy of `bytes` (taken at once: they may be transferred right after); true when written. */
  async put(kind: CacheKind, key: string, bytes: ArrayBuffer): Promise<boolean> {
    try {
      const headers = { 'content-type': 'application/octet-stream', 'x-bytes': String(bytes.byteLength), 'x-stored': String(Date.now()) };
      await this.cache.put(`${BASE}${kind}/${encodeURIComponent(key)}`, new Response(bytes, { headers }));
      await this.evict(kind);
      return true;
    } catch {
      return false; // full or unavailable: the next load fetches again
    }
  }

  async delete(kind: CacheKind, key: string): Promise<void> {
    await this.cache.delete(`${BASE}${kind}/${encodeURIComponent(key)}`).catch(() => false);
  }

  private async evict(kind: CacheKind): Promise<void> {
    const prefix = `${BASE}${kind}/`;
    const entries: { request: Request; stored: number }[] = [];
    for (const request of await this.cache.keys()) {
      if (!request.url.startsWith(prefix)) continue;
      const r = await this.cache.match(request);
      entries.push({ request, stored: Number(r?.headers.get('x-stored')) || 0 });
    }
    entries.sort((a, b) => b.stored - a.stored);
    for (const e of entries.slice(KEEP[kind])) await this.cache.delete(e.request);
  }
}
