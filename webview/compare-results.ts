import { AttentionStore } from '../src/common/attention-store';
import { alignTokens, compareRefusal } from '../src/common/compare';
import type { AttentionView } from '../src/common/protocol';
import type { EngineResult } from '../src/engine/model-engine';
import { ByteCache } from './byte-cache';
import { decodeResult, encodeResult, keptBytes } from './result-file';

/** The largest result kept for the next page's Compare tab (its attention's bytes). */
const KEEP_MAX_BYTES = 64 * 1024 * 1024;
import type { CompareShown, CompareSide } from './views/compare-view';

/** A result the Compare tab can set beside the current one. */
export type Comparable = Pick<EngineResult, 'tokens' | 'store' | 'model' | 'tokenizerId'> & { source: string };

/**
 * The two results the Compare tab shows: the current one and the one shown before it in this
 * page — or, for a page's first result, the last result of the page before (another model's,
 * after Choose Model), which that page kept in the panel's cache when the host asked it to.
 */
export class CompareResults {
  private current?: Comparable;
  private previous?: Comparable;
  private kept?: Comparable;
  private paired?: { before: Comparable; now: Comparable; pairs: [number, number][] };

  constructor() {
    // Kept for this page alone: read once, and dropped, so that later pages do not read it again.
    void ByteCache.open().then(async (c) => {
      const file = await c?.get('result', 'last');
      if (!file) return;
      void c?.delete('result', 'last');
      const r = decodeResult(file);
      if (r) this.kept = { ...r, store: new AttentionStore(r.windows, r.model.layers, r.heads) };
    });
  }

  /**
   * Keeps the current result in the panel's cache for the next page (the host is about to replace
   * this one); false when there is none, it is too large, or the cache refused it.
   */
  async keep(): Promise<boolean> {
    const r = this.current;
    if (!r || keptBytes(r.store.windows) > KEEP_MAX_BYTES) return false;
    const file = encodeResult({ ...r, windows: r.store.windows, heads: r.store.heads });
    const cache = await ByteCache.open();
    return (await cache?.put('result', 'last', file)) ?? false;
  }

  /** A new result is shown: the one shown until now becomes the one before. */
  advance(now: Comparable): void {
    this.previous = this.current ?? this.previous ?? this.kept;
    this.current = now;
  }

  /** The two results, aligned token by token, or why they cannot be compared. */
  shown(view: AttentionView): CompareShown | null {
    const { previous: before, current: now } = this;
    if (!now) return null;
    const side = (r: Comparable): CompareSide => ({
      tokens: r.tokens,
      store: r.store,
      source: r.source,
      model: r.model.name,
    });
    if (!before) return { before: null, now: side(now), pairs: [], refusal: null, view };
    const describe = (r: Comparable): Parameters<typeof compareRefusal>[0] => ({
      ...r.model,
      tokenizer: r.tokenizerId,
      model: r.model.name,
    });
    const refusal = compareRefusal(describe(before), describe(now));
    if (!refusal && (this.paired?.before !== before || this.paired.now !== now)) {
      const ids = (r: Comparable): number[] => r.tokens.map((t) => t.id);
      this.paired = { before, now, pairs: alignTokens(ids(before), ids(now)) };
    }
    return { before: side(before), now: side(now), pairs: refusal ? [] : this.paired!.pairs, refusal, view };
  }
}
