import type { AttentionStore } from '../src/common/attention-store';
import { allHeadScoresSliced, type HeadScoreRow } from '../src/common/head-scores';
import type { TokenInfo } from '../src/common/protocol';
import { textIds } from '../src/common/word-level';

/** What scoring reads of a shown result. */
interface Scored {
  store: AttentionStore;
  tokens: TokenInfo[];
  /** Present at word level: the tokens are words. */
  wordMap?: Int32Array;
}

/**
 * The current result's head scores, computed once, when first asked for: in slices, the page
 * answering in between (`pause`), with the progress said through `onProgress` (a BERT-base-sized
 * model's 144 heads at 1,024 tokens are about a second).
 */
export class HeadScoring<R extends Scored> {
  private scored?: { result: R; heads: Promise<HeadScoreRow[]>; done?: HeadScoreRow[]; progress: number };

  constructor(
    private readonly onProgress: (r: R) => void,
    private readonly pause: () => Promise<void>,
    private readonly onDone: (ms: number) => void,
  ) {}

  of(r: R): Promise<HeadScoreRow[]> {
    if (this.scored?.result !== r) {
      const t0 = performance.now();
      // At word level a repeated word is the same word whatever its tokens' ids.
      const ids = r.wordMap ? textIds(r.tokens) : r.tokens.map((t) => t.id);
      const entry: NonNullable<HeadScoring<R>['scored']> = { result: r, heads: Promise.resolve([]), progress: 0 };
      // Kept before the first slice runs: a redraw during a pause asks for the scores again.
      this.scored = entry;
      entry.heads = allHeadScoresSliced(r.store, ids, async (done) => {
        entry.progress = done;
        this.onProgress(r);
        await this.pause();
      }).then((heads) => {
        entry.done = heads;
        this.onDone(performance.now() - t0);
        this.onProgress(r);
        return heads;
      });
    }
    return this.scored.heads;
  }

  /** The scores if ready, else what the Heads tab says meanwhile (and the scoring is started). */
  now(r: R): HeadScoreRow[] | string {
    void this.of(r);
    const s = this.scored!;
    return s.done ?? `Scoring every head on the analysed text… ${Math.round(s.progress * 100)}%`;
  }
}
