import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarise, topK, isCausal } from '../../src/common/analysis';
import { AttentionStore, assignQueries } from '../../src/common/attention-store';
import { edgeSpecials, planWindows } from '../../src/engine/windows';

/** A 1-layer, 2-head store of T tokens with rows set by `f(head, q, k)`, normalised per row. */
function store(t: number, f: (h: number, q: number, k: number) => number): AttentionStore {
  const data = new Float32Array(2 * t * t);
  for (let h = 0; h < 2; h++)
    for (let q = 0; q < t; q++) {
      let sum = 0;
      for (let k = 0; k < t; k++) sum += data[(h * t + q) * t + k] = f(h, q, k);
      for (let k = 0; k < t; k++) data[(h * t + q) * t + k] /= sum;
    }
  return new AttentionStore([{ start: 0, length: t, layers: [data] }], 1, 2);
}

test('topK returns the largest weights first, earlier index on ties', () => {
  assert.deepEqual(topK([0.1, 0.5, 0.2, 0.5], 3, 10), [
    { index: 11, weight: 0.5 },
    { index: 13, weight: 0.5 },
    { index: 12, weight: 0.2 },
  ]);
  assert.deepEqual(topK([], 3), []);
});

test('mean and max over heads aggregate each row', () => {
  // head 0 attends to the first token, head 1 to itself
  const s = store(3, (h, q, k) => (h === 0 ? (k === 0 ? 1 : 0) : k === q ? 1 : 0));
  assert.deepEqual(Array.from(s.row(0, 'mean', 2).weights), [0.5, 0, 0.5]);
  assert.deepEqual(Array.from(s.row(0, 'max', 1).weights), [1, 1, 0]);
  assert.equal(s.weight(0, 1, 2, 2), 1);
});

test('summaries list what each token attends to and what attends to it', () => {
  const s = store(4, (h, q, k) => (k <= q ? (k === Math.max(0, q - 1) ? 8 : 1) : 0)); // previous-token heads
  const sum = summarise(s, { layer: 0, head: 0 }, 2);
  assert.equal(sum.length, 4);
  assert.equal(sum[3].attends[0].index, 2);
  assert.deepEqual(
    sum[2].attendedBy.map((w) => w.index),
    [3, 2],
  );
  assert.ok(isCausal(s));
  assert.ok(!isCausal(store(3, () => 1)));
});

test('windows are the context long, overlap by a quarter, and stop at maxTokens', () => {
  assert.deepEqual(planWindows(100, 256, 1024), {
    windows: [{ start: 0, end: 100, lead: [], trail: [] }],
    analysed: 100,
    truncated: false,
  });
  const p = planWindows(600, 256, 1024);
  assert.deepEqual(
    p.windows.map((w) => [w.start, w.end]),
    [
      [0, 256],
      [192, 448],
      [384, 600],
    ],
  );
  const cut = planWindows(5000, 256, 1024);
  assert.equal(cut.analysed, 1024);
  assert.equal(cut.truncated, true);
  assert.equal(cut.windows[cut.windows.length - 1].end, 1024);
  assert.deepEqual(planWindows(0, 256, 1024).windows, []);
});

test("an encoder's [CLS] and [SEP] are given to every window again, each window still the context long", () => {
  assert.deepEqual(edgeSpecials([true, false, false, true]), { lead: 1, trail: 1 });
  assert.deepEqual(edgeSpecials([false, false]), { lead: 0, trail: 0 });
  assert.deepEqual(edgeSpecials([true, true]), { lead: 0, trail: 0 });
  const p = planWindows(600, 256, 1024, { lead: 1, trail: 1 });
  assert.deepEqual(p.windows, [
    { start: 0, end: 255, lead: [], trail: [599] },
    { start: 191, end: 445, lead: [0], trail: [599] },
    { start: 381, end: 600, lead: [0], trail: [] },
  ]);
  for (const w of p.windows) assert.ok(w.lead.length + (w.end - w.start) + w.trail.length <= 256);
  // A sequence cut at maxTokens has lost its [SEP]: none is re-added.
  assert.ok(planWindows(5000, 256, 1024, { lead: 1, trail: 1 }).windows.every((w) => w.trail.length === 0));
});

test('a row of a window with re-added tokens is laid out over the sequence', () => {
  // Tokens 0..5 in two windows of T = 4: 0,1,2 + [5] and [0] + 3,4,5. One head.
  const t = 4;
  const first = new Float32Array(t * t);
  first.set([0.1, 0.2, 0.3, 0.4], 2 * t); // query 2 → keys 0, 1, 2, 5
  const second = new Float32Array(t * t);
  second.set([0.4, 0.3, 0.2, 0.1], 1 * t); // query 3 → keys 0, 3, 4, 5
  const s = new AttentionStore(
    [
      { start: 0, length: 3, layers: [first], trail: [5] },
      { start: 3, length: 3, layers: [second], lead: [0] },
    ],
    1,
    1,
  );
  assert.equal(s.tokens, 6);
  const r = s.row(0, 0, 3);
  assert.equal(r.keyStart, 0);
  assert.deepEqual(Array.from(r.weights), [0.4, 0, 0, 0.3, 0.2, 0.1].map(Math.fround));
  assert.deepEqual(Array.from(s.row(0, 'mean', 2).weights), [0.1, 0.2, 0.3, 0, 0, 0.4].map(Math.fround));
  assert.equal(s.weight(0, 'max', 3, 5), Math.fround(0.1));
  assert.equal(s.weight(0, 0, 3, 1), 0);
});

test('each query reads its row from the window where it has most context', () => {
  const w = (start: number, length: number) => ({ start, length, layers: [] });
  const a = assignQueries([w(0, 8), w(6, 8)], 14);
  assert.deepEqual(Array.from(a), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
});

test('a column, and several rows or columns summed, read the same weights as the rows, across windows with re-added tokens', () => {
  // [CLS] a b c [SEP] (0..4): window 1 runs 0 1 2 + trail 4; window 2 runs lead 0 + 2 3 4. Two heads.
  let seed = 3;
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const layer = (t: number): Float32Array => Float32Array.from({ length: 2 * t * t }, rand);
  const store = new AttentionStore(
    [
      { start: 0, length: 3, layers: [layer(4)], trail: [4] },
      { start: 2, length: 3, layers: [layer(4)], lead: [0] },
    ],
    1,
    2,
  );
  for (const head of [0, 1, 'mean', 'max'] as const)
    for (let key = 0; key < store.tokens; key++) {
      const column = store.column(0, head, key);
      for (let q = 0; q < store.tokens; q++)
        assert.ok(Math.abs(column[q] - store.weight(0, head, q, key)) < 1e-6, `${head} ${q}→${key}`);
    }
  const rows = store.rowsSum(0, 'mean', 1, 3);
  const columns = store.columnsSum(0, 1, 2, 4);
  for (let k = 0; k < store.tokens; k++) {
    const sum = [1, 2, 3].reduce((a, q) => a + store.weight(0, 'mean', q, k), 0);
    assert.ok(Math.abs(rows[k] - sum) < 1e-6);
    const by = [2, 3, 4].reduce((a, key) => a + store.weight(0, 1, k, key), 0);
    assert.ok(Math.abs(columns[k] - by) < 1e-6);
  }
});
