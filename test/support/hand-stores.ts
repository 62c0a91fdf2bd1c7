import { AttentionStore } from '../../src/common/attention-store';

/** A one-window store from per-head T×T matrices written out by hand (rows of numbers). */
export function storeOf(layers: number[][][][]): AttentionStore {
  const heads = layers[0].length;
  const t = layers[0][0].length;
  const flat = layers.map((hs) => Float32Array.from(hs.flat(2)));
  return new AttentionStore([{ start: 0, length: t, layers: flat }], layers.length, heads);
}

/** A previous-token head over 4 tokens (the first attends to itself). */
export const PREVIOUS = [
  [1, 0, 0, 0],
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
];

/** A causal head spreading each row evenly over the keys it may see. */
export const UNIFORM = [
  [1, 0, 0, 0],
  [0.5, 0.5, 0, 0],
  [1 / 3, 1 / 3, 1 / 3, 0],
  [0.25, 0.25, 0.25, 0.25],
];
