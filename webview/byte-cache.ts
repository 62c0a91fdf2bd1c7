/**
 * The panel's own cache of large files, in the page's CacheStorage: it survives a window reload
 * and a new window (VS Code keeps a webview's origin, and with it its storage, across them). It
 * holds the runtime's WebAssembly and the graphs after surgery, keyed by content (the extension's
 * runtime files' identity; the model file's SHA-256), so that a later load moves no model bytes
 * through VS Code at all; and the last result shown, for a reloaded page. Bounded: the newest
 * few of each kind are kept. Without CacheStorage (an environment that lacks it), nothing is
 * cached and nothing fails.
 */
const CACHE_NAME = 'attention-explorer-v1';
const BASE = 'https://attention-explorer.cache/';
/** 'result': the one kept for the next page's Compare tab; 'restore': the one a reloaded page shows. */
export type CacheKind = 'prepared' | 'runtime' | 'result' | 'restore';
/** How many entries of each kind are kept (the newest). */
const KEEP: Record<CacheKind, number> = { prepared: 3, runtime: 2, result: 1, restore: 1 };

/**
 * Entries are stored in parts of this size, under a manifest: Chromium's Cache.put fails on one
 * 400 MB body ("UnknownError: Unexpected internal error", measured with a 10.7 GB quota), and a
 * large model's prepared graph is that big. Small enough that the bundled model's graph (19 MB)
 * takes two parts, so every test of the cache goes through the parts.
 */
const PART_BYTES = 16 * 1024 * 1024;

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

  private url(kind: CacheKind, key: string, part?: number): string {
    // A path, not a fragment: the Cache API ignores fragments when it matches.
    return `${BASE}${kind}/${encodeURIComponent(key)}${part === undefined ? '' : `/part-${part}`}`;
  }

  async get(kind: CacheKind, key: string): Promise<ArrayBuffer | undefined> {
    try {
      const manifest = await this.cache.match(this.url(kind, key));
      if (!manifest) return undefined;
      const total = Number(manifest.headers.get('x-bytes'));
      const parts = Number(manifest.headers.get('x-parts'));
      const whole =
        Number.isInteger(total) && Number.isInteger(parts) && parts >= 1 ? new Uint8Array(total) : undefined;
      let at = 0;
      for (let i = 0; whole && i < parts; i++) {
        const part = await this.cache.match(this.url(kind, key, i));
        const bytes = part ? new Uint8Array(await part.arrayBuffer()) : undefined;
        if (!bytes || at + bytes.byteLength > total) break;
        whole.set(bytes, at);
        at += bytes.byteLength;
      }
      // An entry cut short (the page closed while it was written) or of another layout is dropped.
      if (!whole || at !== total) {
        await this.delete(kind, key);
        return undefined;
      }
      return whole.buffer;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores a copy of `bytes` — taken before the first await, since the caller may transfer them
   * right after — and says whether it was written.
   */
  async put(kind: CacheKind, key: string, bytes: ArrayBuffer): Promise<boolean> {
    const parts = Math.max(1, Math.ceil(bytes.byteLength / PART_BYTES));
    const bodies = Array.from(
      { length: parts },
      (_, i) => new Response(bytes.slice(i * PART_BYTES, Math.min(bytes.byteLength, (i + 1) * PART_BYTES))),
    );
    const headers = { 'x-bytes': String(bytes.byteLength), 'x-parts': String(parts), 'x-stored': String(Date.now()) };
    try {
      await this.delete(kind, key);
      for (let i = 0; i < parts; i++) await this.cache.put(this.url(kind, key, i), bodies[i]);
      // The manifest last: an entry without it is never read.
      await this.cache.put(this.url(kind, key), new Response(null, { headers }));
      await this.evict(kind);
      return true;
    } catch {
      await this.delete(kind, key).catch(() => undefined);
      return false; // full or unavailable: the next load fetches again
    }
  }

  async delete(kind: CacheKind, key: string): Promise<void> {
    const prefix = this.url(kind, key);
    for (const request of await this.cache.keys()) {
      if (request.url === prefix || request.url.startsWith(`${prefix}/part-`)) await this.cache.delete(request);
    }
  }

  private async evict(kind: CacheKind): Promise<void> {
    const prefix = `${BASE}${kind}/`;
    const entries: { key: string; stored: number }[] = [];
    for (const request of await this.cache.keys()) {
      if (!request.url.startsWith(prefix) || request.url.includes('/part-')) continue;
      const r = await this.cache.match(request);
      entries.push({
        key: decodeURIComponent(request.url.slice(prefix.length)),
        stored: Number(r?.headers.get('x-stored')) || 0,
      });
    }
    entries.sort((a, b) => b.stored - a.stored);
    for (const e of entries.slice(KEEP[kind])) await this.delete(kind, e.key);
  }
}
