import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionStore } from '../../src/common/attention-store';
import { alignTokens, compareRefusal, headDifference, headDifferences, pairedMatrices } from '../../src/common/compare';
import { decodeResult, encodeResult } from '../../webview/result-file';

/** A one-layer store of `rows` (one head, or two heads: rows then f(rows)). */
function store(rows: number[][], second?: number[][]): AttentionStore {
  const t = rows.length;
  const heads = second ? 2 : 1;
  const data = new Float32Array(heads * t * t);
  [rows, second].forEach((r, h) => r?.forEach((row, q) => row.forEach((w, k) => (data[(h * t + q) * t + k] = w))));
  return new AttentionStore([{ start: 0, length: t, layers: [data] }], 1, heads);
}

test('tokens shared by two results are aligned around an edit: an insertion, a deletion, a change', () => {
  assert.deepEqual(alignTokens([1, 2, 3], [1, 2, 3]), [
    [0, 0],
    [1, 1],
    [2, 2],
  ]);
  // "a b c d" → "a b X c d": the inserted token has no partner.
  assert.deepEqual(alignTokens([1, 2, 3, 4], [1, 2, 9, 3, 4]), [
    [0, 0],
    [1, 1],
    [2, 3],
    [3, 4],
  ]);
  assert.deepEqual(alignTokens([1, 2, 9, 3], [1, 2, 3]), [
    [0, 0],
    [1, 1],
    [3, 2],
  ]);
  // A change in the middle, with a token repeated on both sides of it: the longest common subsequence.
  assert.deepEqual(alignTokens([5, 1, 7, 1, 5], [5, 1, 8, 8, 1, 5]), [
    [0, 0],
    [1, 1],
    [3, 4],
    [4, 5],
  ]);
  assert.deepEqual(alignTokens([], [1]), []);
});

test('a head’s difference is the mean total variation of its rows over the shared tokens, each renormalised; the same result differs by 0', () => {
  const before = store([
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0.2, 0.3, 0.5],
  ]);
  assert.equal(headDifference(before, before, alignTokens([1, 2, 3], [1, 2, 3]), 0, 0), 0);
  // Now a token is inserted before the last: shared are 0, 1 and the last.
  const now = store([
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0.25, 0.25, 0.5, 0],
    [0.1, 0.1, 0.4, 0.4],
  ]);
  const pairs = alignTokens([1, 2, 3], [1, 2, 9, 3]);
  assert.deepEqual(pairs, [
    [0, 0],
    [1, 1],
    [2, 3],
  ]);
  // Row 0: identical (0). Row 1: [.5,.5,0] vs [0,1,0]: 0.5. Row 2: [.2,.3,.5] vs [.1,.1,.4]/0.6 = [⅙,⅙,⅔]:
  // ½(|.2−⅙| + |.3−⅙| + |.5−⅔|) = ½(1/30 + 4/30 + 5/30) = ⅙.
  const expected = (0 + 0.5 + 1 / 6) / 3;
  assert.ok(Math.abs(headDifference(before, now, pairs, 0, 0) - expected) < 1e-6);
  const m = pairedMatrices(before, now, pairs, 0, 0);
  assert.deepEqual(
    Array.from(m.now.slice(6, 9)).map((x) => +x.toFixed(3)),
    [0.1, 0.1, 0.4],
  );
  assert.ok(Math.abs(m.difference[3] - -0.5) < 1e-6, 'row 1, key 0: 0 now, 0.5 before');
  // Every head at once, in layer × head order.
  const two = store(
    [
      [1, 0],
      [0.5, 0.5],
    ],
    [
      [1, 0],
      [0, 1],
    ],
  );
  const one = store(
    [
      [1, 0],
      [0.5, 0.5],
    ],
    [
      [1, 0],
      [1, 0],
    ],
  );
  assert.deepEqual(Array.from(headDifferences(one, two, alignTokens([1, 2], [1, 2]))), [0, 0.5]);
});

test('results of different tokenizers, or of models of different shapes, are refused with the reason', () => {
  const a = { layers: 4, heads: 8, tokenizer: 'aa', model: 'code-prose-gpt' };
  assert.equal(compareRefusal(a, { ...a }), null);
  assert.match(
    compareRefusal(a, { ...a, tokenizer: 'bb', model: 'bert' }) ?? '',
    /different tokenizers \(code-prose-gpt and bert\)/,
  );
  assert.match(compareRefusal(a, { ...a, heads: 12 }) ?? '', /different shapes \(4 layers × 8 heads, and 4 × 12\)/);
});

test('a result kept for the next page reads back as it was; a file cut short or of another kind reads as none', () => {
  const t = 3;
  const layer = (seed: number): Float32Array => Float32Array.from({ length: 2 * t * t }, (_, i) => (i * seed) % 7);
  const kept = {
    tokens: [{ id: 5, text: 'a', start: 0, end: 1, special: false }],
    model: { name: 'm', layers: 2, heads: 2, context: 8, causal: true, layerNames: ['x', 'y'] },
    source: 'a.py, selection',
    tokenizerId: 'abcd1234',
    heads: 2,
    windows: [
      { start: 0, length: 2, lead: [], trail: [2], layers: [layer(1), layer(2)] },
      { start: 1, length: 2, lead: [0], trail: [], layers: [layer(3), layer(4)] },
    ],
  };
  const file = encodeResult({ ...kept, store: 'more than a kept result has' } as typeof kept);
  const back = decodeResult(file) ?? assert.fail('read back');
  assert.deepEqual({ ...back, windows: [] }, { ...kept, windows: [] });
  back.windows.forEach((w, i) => {
    assert.deepEqual(
      [w.start, w.length, w.lead, w.trail],
      [kept.windows[i].start, kept.windows[i].length, kept.windows[i].lead, kept.windows[i].trail],
    );
    w.layers.forEach((l, j) => assert.deepEqual(Array.from(l), Array.from(kept.windows[i].layers[j])));
  });
  assert.equal(decodeResult(file.slice(0, file.byteLength - 4)), null);
  assert.equal(decodeResult(new ArrayBuffer(40)), null);
  assert.equal(decodeResult(new TextEncoder().encode('AERS and then nonsense').buffer), null);
});
