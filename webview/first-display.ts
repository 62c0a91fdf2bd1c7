/**
 * A made-up result of a few tokens that the page draws, unseen, while its model loads: a page's
 * first display otherwise runs its drawing code for the first time (not yet compiled) and makes
 * its canvases then, 5–20 times slower than any later display (measured in Chromium: 71–108 ms
 * against 5–12 ms; 102–343 ms in code-server, where it was the panel's longest task).
 */
import { AttentionStore } from '../src/common/attention-store';
import type { TokenInfo } from '../src/common/protocol';
import type { EngineResult } from '../src/engine/model-engine';

/** Every printable ASCII character, in chips of eight: the fonts' glyphs are then ready too. */
const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const WORDS = [...Array.from({ length: 12 }, (_, i) => ASCII.slice(i * 8, i * 8 + 8)), '\n'];
const LAYERS = 2;
const HEADS = 2;

export function practiceResult(): EngineResult {
  const n = WORDS.length;
  let at = 0;
  const tokens: TokenInfo[] = WORDS.map((text, id) => {
    const t = { id, text, start: at, end: at + text.length, special: false };
    at += text.length;
    return t;
  });
  // Each token attends evenly to itself and the tokens before it, in every head.
  const layer = (): Float32Array => {
    const a = new Float32Array(HEADS * n * n);
    for (let h = 0; h < HEADS; h++)
      for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) a[(h * n + q) * n + k] = 1 / (q + 1);
    return a;
  };
  const store = new AttentionStore(
    [{ start: 0, length: n, layers: Array.from({ length: LAYERS }, layer) }],
    LAYERS,
    HEADS,
  );
  return {
    tokens,
    store,
    model: { name: '', layers: LAYERS, heads: HEADS, context: n, causal: true, layerNames: ['a', 'b'] },
    backend: 'wasm',
    backendNote: null,
    runMs: 0,
    analysedEnd: at,
    truncated: false,
    offsetsNote: null,
    windows: 1,
    predictions: null,
    predictionKind: null,
    predictionsNote: null,
    tokenizerId: '',
    intervention: null,
    timings: {},
  };
}
