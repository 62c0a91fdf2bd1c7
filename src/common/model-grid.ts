import type { AttentionStore } from './attention-store';

/**
 * The model view's arithmetic: every layer × head as a small square picture of its attention,
 * one row of pictures per layer. Pure, so that Node tests it and the panel draws it.
 */

/**
 * One head's attention shrunk to `size` × `size` cells (size ≤ the token count): each cell holds
 * the largest weight among the query × key block it covers. The largest, not the mean: a head that
 * attends to the previous token has one weight per row, and a mean over a block of 20 keys would
 * fade that diagonal to a twentieth.
 */
export function headThumbnail(
  store: AttentionStore,
  layer: number,
  head: number,
  size: number,
  into = new Float32Array(size * size),
): Float32Array {
  const n = store.tokens;
  const cellOf = blockOf(n, size);
  into.fill(0);
  for (let q = 0; q < n; q++) {
    const { keyStart, weights } = store.headRow(layer, head, q);
    const base = cellOf[q] * size;
    for (let j = 0; j < weights.length; j++) {
      const at = base + cellOf[keyStart + j];
      if (weights[j] > into[at]) into[at] = weights[j];
    }
  }
  return into;
}

/** For each of `n` tokens, the cell (0 … size−1) it falls in. */
function blockOf(n: number, size: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor((i * size) / n);
  return out;
}

/**
 * Every head's thumbnail in one array laid out as the grid ([layer][head][size][size]), so that a
 * whole model view is one allocation: 144 heads at 64 cells are 2.4 MB.
 */
export function allThumbnails(store: AttentionStore, size: number): Float32Array {
  const per = size * size;
  const out = new Float32Array(store.layers * store.heads * per);
  for (let l = 0; l < store.layers; l++)
    for (let h = 0; h < store.heads; h++)
      headThumbnail(store, l, h, size, out.subarray((l * store.heads + h) * per, (l * store.heads + h + 1) * per));
  return out;
}

/** Where the grid's pictures lie, in CSS pixels. */
export interface GridGeometry {
  /** Room for the layer labels on the left and the head labels on top. */
  left: number;
  top: number;
  /** A picture's side, and the space between two. */
  thumb: number;
  gap: number;
  width: number;
  height: number;
}

export const THUMB_MIN = 24;
export const THUMB_MAX = 160;

/**
 * The grid fitted to `available` CSS pixels of width: one column per head, as wide as fits between
 * THUMB_MIN (narrower is unreadable; the grid then scrolls sideways) and THUMB_MAX (a model with
 * one head does not get one huge picture).
 */
export function gridGeometry(layers: number, heads: number, available: number): GridGeometry {
  const left = 34;
  const top = 18;
  const gap = 6;
  const fit = Math.floor((available - left) / heads) - gap;
  const thumb = Math.max(THUMB_MIN, Math.min(THUMB_MAX, fit));
  return {
    left,
    top,
    thumb,
    gap,
    width: left + heads * (thumb + gap),
    height: top + layers * (thumb + gap),
  };
}

/** What lies under a point of the grid: a head, and the query and key under it (null between pictures). */
export interface GridHit {
  layer: number;
  head: number;
  query: number;
  key: number;
}

export function gridHit(
  g: GridGeometry,
  layers: number,
  heads: number,
  tokens: number,
  x: number,
  y: number,
): GridHit | null {
  const step = g.thumb + g.gap;
  const head = Math.floor((x - g.left) / step);
  const layer = Math.floor((y - g.top) / step);
  if (head < 0 || layer < 0 || head >= heads || layer >= layers) return null;
  const dx = x - g.left - head * step;
  const dy = y - g.top - layer * step;
  if (dx >= g.thumb || dy >= g.thumb) return null;
  const key = Math.min(tokens - 1, Math.floor((dx / g.thumb) * tokens));
  const query = Math.min(tokens - 1, Math.floor((dy / g.thumb) * tokens));
  return { layer, head, query, key };
}
