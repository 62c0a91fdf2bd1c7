import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionStore } from '../../src/common/attention-store';
import { allHeadScores, allHeadScoresSliced, headScores, inductionTargets } from '../../src/common/head-scores';
import { rollout, rolloutWindow } from '../../src/common/rollout';
import { PREVIOUS, storeOf, UNIFORM } from '../support/hand-stores';

const close = (a: number | null, b: number, what: string): void =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-6, `${what}: ${a} instead of ${b}`);

test('head scores on hand-computed matrices: previous token, first token, self, entropy, mean distance', () => {
  const store = storeOf([[PREVIOUS, UNIFORM]]);
  const none = inductionTargets([1, 2, 3, 4]);
  const p = headScores(store, 0, 0, none);
  close(p.previousToken, 1, 'previous-token head, previousToken');
  close(p.firstToken, 0.5, 'previous-token head, firstToken'); // rows 0 and 1 look at token 0
  close(p.self, 0.25, 'previous-token head, self'); // only row 0
  close(p.entropy, 0, 'previous-token head, entropy');
  close(p.meanDistance, (0 + 1 + 1 + 1) / 4, 'previous-token head, meanDistance');
  assert.equal(p.induction, null, 'nothing repeats');
  const u = headScores(store, 0, 1, none);
  close(u.previousToken, (0.5 + 1 / 3 + 0.25) / 3, 'uniform head, previousToken');
  close(u.firstToken, (1 + 0.5 + 1 / 3 + 0.25) / 4, 'uniform head, firstToken');
  close(u.entropy, (0 + Math.log(2) + Math.log(3) + Math.log(4)) / 4, 'uniform head, entropy (nats)');
  // Row 3: keys 0..3 at a quarter each, distances 3, 2, 1, 0.
  close(u.meanDistance, (0 + 0.5 + (2 + 1) / 3 + (3 + 2 + 1) / 4) / 4, 'uniform head, meanDistance');
});

test('the induction score reads, for a repeated token, the token that followed its last occurrence; none without repeats', () => {
  // Tokens A B C A B: the second A (query 3) follows position 1 (B); the second B (query 4) position 2 (C).
  assert.deepEqual(Array.from(inductionTargets([7, 8, 9, 7, 8])), [-1, -1, -1, 1, 2]);
  // A token right after its previous occurrence (A A) has p + 1 = q: not counted.
  assert.deepEqual(Array.from(inductionTargets([5, 5, 5])), [-1, -1, -1]);
  const copy = [
    [1, 0, 0, 0, 0],
    [1, 0, 0, 0, 0],
    [1, 0, 0, 0, 0],
    [0, 0.8, 0.2, 0, 0],
    [0, 0, 0.6, 0.4, 0],
  ];
  const s = headScores(storeOf([[copy]]), 0, 0, inductionTargets([7, 8, 9, 7, 8]));
  close(s.induction, (0.8 + 0.6) / 2, 'induction');
  const rows = allHeadScores(storeOf([[copy], [copy]]), [7, 8, 9, 7, 8]);
  assert.deepEqual(
    rows.map((r) => [r.layer, r.head]),
    [
      [0, 0],
      [1, 0],
    ],
  );
});

test('head scores of a window: a row covers its own keys only, the rest count as 0', () => {
  // Two windows over 3 tokens: tokens 0–1, then 1–2. Query 2 reads from the second window.
  const w1 = Float32Array.from([1, 0, 0.5, 0.5]);
  const w2 = Float32Array.from([1, 0, 0.25, 0.75]);
  const store = new AttentionStore(
    [
      { start: 0, length: 2, layers: [w1] },
      { start: 1, length: 2, layers: [w2] },
    ],
    1,
    1,
  );
  const s = headScores(store, 0, 0, inductionTargets([1, 2, 3]));
  // Query 0: [1, 0, 0]; query 1: its window is chosen by assignQueries; query 2: keys 1–2 = [0.25, 0.75].
  const row1 = store.denseRow(0, 0, 1);
  close(s.previousToken, (row1[0] + 0.25) / 2, 'previousToken');
  close(s.firstToken, (1 + row1[0] + 0) / 3, 'firstToken: query 2 cannot see token 0');
});

test('rollout on a hand-computed two-layer model: ½·A + ½·I, rows renormalised, multiplied from the first layer up', () => {
  const a0 = [
    [1, 0],
    [0.5, 0.5],
  ];
  const a1 = [
    [1, 0],
    [1, 0],
  ];
  const [r0, r1] = rollout(storeOf([[a0], [a1]]));
  // Layer 0: ½A + ½I = [[1, 0], [0.25, 0.75]] (rows already sum to 1).
  assert.deepEqual(Array.from(r0), [1, 0, 0.25, 0.75]);
  // Layer 1: Ã1 = [[1, 0], [0.5, 0.5]]; Ã1·R0 = [[1, 0], [0.5 + 0.125, 0.375]].
  assert.deepEqual(Array.from(r1), [1, 0, 0.625, 0.375]);
  for (let q = 0; q < 2; q++) close(r1[q * 2] + r1[q * 2 + 1], 1, `rollout row ${q} sums to 1`);
});

test('"rollout" is a head choice like mean and max: read per window (attention never crosses one), rows summing to 1', () => {
  // Two windows over three tokens, two layers, one head: each window's rollout is its own.
  const w1 = [Float32Array.from([1, 0, 0.5, 0.5]), Float32Array.from([1, 0, 0, 1])];
  const w2 = [Float32Array.from([1, 0, 0.2, 0.8]), Float32Array.from([1, 0, 1, 0])];
  const store = new AttentionStore(
    [
      { start: 0, length: 2, layers: w1 },
      { start: 1, length: 2, layers: w2 },
    ],
    2,
    1,
  );
  const direct = rolloutWindow(w2, 1, 2)[1];
  const last = store.row(1, 'rollout', 2);
  assert.equal(last.keyStart, 1, 'token 2 reads from the second window');
  assert.deepEqual(Array.from(last.weights), Array.from(direct.subarray(2, 4)));
  for (let q = 0; q < 3; q++) {
    const sum = store.row(1, 'rollout', q).weights.reduce((a, b) => a + b, 0);
    close(sum, 1, `rollout row ${q}`);
  }
  assert.equal(store.weight(1, 'rollout', 2, 0), 0, 'nothing flows across windows');
});

test('the head finder on one token: what needs two tokens is “none”, the rest is exact, nothing is NaN', () => {
  const heads = allHeadScores(storeOf([[[[1]]]]), [7]);
  assert.equal(heads.length, 1);
  assert.deepEqual(heads[0].scores, {
    previousToken: null,
    firstToken: 1,
    self: 1,
    entropy: 0,
    meanDistance: 0,
    induction: null,
  });
});

test('the rollout computed in slices (the panel’s way) pauses between them and gives the same rows as at once', async () => {
  let seed = 11;
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const t = 40;
  const layer = (): Float32Array => {
    const a = Float32Array.from({ length: 2 * t * t }, rand);
    for (let r = 0; r < 2 * t; r++) {
      const row = a.subarray(r * t, (r + 1) * t);
      const sum = row.reduce((x, y) => x + y, 0);
      row.forEach((v, i) => (row[i] = v / sum));
    }
    return a;
  };
  const layers = [layer(), layer(), layer()];
  const sliced = new AttentionStore([{ start: 0, length: t, layers }], 3, 2);
  const whole = new AttentionStore([{ start: 0, length: t, layers }], 3, 2);
  const seen: number[] = [];
  assert.equal(sliced.rolloutReady, false);
  await sliced.prepareRollout(async (done) => void seen.push(done), -1);
  // A slice of −1 ms pauses at every step: 3 steps of 16 rows in each of the two multiplied layers.
  assert.equal(seen.length, 6, `${seen.length} pauses`);
  assert.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
    'the fraction done only grows',
  );
  assert.ok(seen.every((d) => d >= 0 && d <= 1));
  assert.equal(sliced.rolloutReady, true);
  for (let q = 0; q < t; q += 7)
    assert.deepEqual(Array.from(sliced.denseRow(2, 'rollout', q)), Array.from(whole.denseRow(2, 'rollout', q)));
});

test('head scores computed in slices (the panel’s way) pause after each head and equal those computed at once', async () => {
  const store = storeOf([
    [PREVIOUS, UNIFORM],
    [UNIFORM, PREVIOUS],
  ]);
  const ids = [5, 6, 5, 6];
  const seen: number[] = [];
  const sliced = await allHeadScoresSliced(store, ids, async (done) => void seen.push(done), -1);
  assert.deepEqual(sliced, allHeadScores(store, ids));
  assert.deepEqual(seen, [0.25, 0.5, 0.75, 1]);
});
