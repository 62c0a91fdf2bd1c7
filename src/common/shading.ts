/**
 * How a weight becomes a shade, for the panel's views and the editor alike: the thresholds below
 * which nothing is drawn, and the steps drawings are bucketed into.
 */

/** Below this a weight tints nothing (a token chip's background, a label's shade). */
export const TINT_MIN = 0.005;

/** Below this a weight draws no line or marker (head view lines, the attended-by underline, the editor's shading). */
export const MARK_MIN = 0.02;

/** A tint's opacity: from `floor` for the faintest weight drawn up to 1 for a weight of 1. */
export function tintAlpha(weight: number, floor: number): number {
  return floor + (1 - floor) * Math.min(1, weight);
}

/**
 * The step (0 … steps−1) a weight falls in, for drawings made of a few layers of one opacity each.
 * `sqrt` spreads small weights over more steps: beside a dominant weight they stay visible.
 */
export function shadeStep(weight: number, steps: number, sqrt = false): number {
  const w = Math.min(1, Math.max(0, weight));
  return Math.min(steps - 1, Math.floor((sqrt ? Math.sqrt(w) : w) * steps));
}

/** The opacity of a matrix cell: sqrt keeps small weights visible next to a dominant one. */
export function cellAlpha(weight: number): number {
  return Math.sqrt(Math.min(1, Math.max(0, weight)));
}
