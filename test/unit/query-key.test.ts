import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queryKeyRow, softmax, type QueryKeyLayer } from '../../src/common/query-key';

/** One head, two queries, three keys of dimension 2; written out by hand. */
const layer = (mask: Float32Array | null): QueryKeyLayer => ({
  heads: 2,
  kvHeads: 1,
  dim: 2,
  queries: 2,
  keys: 3,
  q: Float32Array.from([1, 0, 0, 2, /* head 1 */ 1, 1, 0, 0]),
  k: Float32Array.from([1, 0, 0, 1, 2, 0]),
  scale: 0.5,
  mask,
  maskHeads: 1,
});

test('a query·key row by hand: scores q·k × scale, the mask added, the softmax; key heads shared by query heads', () => {
  const causal = Float32Array.from([0, -Infinity, -Infinity, 0, 0, -Infinity]);
  const r = queryKeyRow(layer(causal), 0, 1);
  assert.deepEqual(Array.from(r.q), [0, 2]);
  assert.deepEqual(r.scores, [0, 1, 0]); // (0,2)·(1,0), ·(0,1), ·(2,0), × 0.5
  assert.deepEqual(r.mask, [0, 0, -Infinity]);
  const e = Math.E;
  assert.deepEqual(
    r.probabilities.map((p) => p.toFixed(6)),
    [1 / (1 + e), e / (1 + e), 0].map((p) => p.toFixed(6)),
  );
  assert.equal(r.maskRecovered, false);
  // Head 1 uses the only key head: (1,1)·k × 0.5.
  assert.deepEqual(queryKeyRow(layer(causal), 1, 0).scores, [0.5, 0.5, 1]);
});

test('an unfused graph’s mask is recovered from the attention: 0 where it was not masked, −∞ where the weight is 0', () => {
  const l = layer(null);
  const scores = [0, 1, 0];
  const attention = Float32Array.from(softmax([scores[0], scores[1], -Infinity]));
  const r = queryKeyRow(l, 0, 1, attention);
  assert.ok(Math.abs(r.mask[0]) < 1e-6 && Math.abs(r.mask[1]) < 1e-6, JSON.stringify(r.mask));
  assert.equal(r.mask[2], -Infinity);
  r.probabilities.forEach((p, k) => assert.ok(Math.abs(p - attention[k]) < 1e-6));
  assert.equal(r.maskRecovered, true);
  assert.throws(() => queryKeyRow(l, 0, 1), /attention row is needed/);
  assert.throws(() => queryKeyRow(l, 2, 0), RangeError);
});
