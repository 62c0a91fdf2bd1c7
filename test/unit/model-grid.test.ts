import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionStore } from '../../src/common/attention-store';
import { allThumbnails, gridGeometry, gridHit, headThumbnail, THUMB_MAX, THUMB_MIN } from '../../src/common/model-grid';
import { modelViewSvg } from '../../src/common/svg-export';
import { PREVIOUS, storeOf, UNIFORM } from '../support/hand-stores';

test('a head thumbnail keeps each block’s largest weight: a previous-token diagonal survives shrinking', () => {
  const store = storeOf([[PREVIOUS, UNIFORM]]);
  // At full size the thumbnail is the matrix itself.
  assert.deepEqual(Array.from(headThumbnail(store, 0, 1, 4)), UNIFORM.flat().map(Math.fround));
  // 4 tokens in 2 cells: each cell is a 2 × 2 block's maximum.
  assert.deepEqual(Array.from(headThumbnail(store, 0, 0, 2)), [1, 0, 1, 1].map(Math.fround));
  assert.deepEqual(Array.from(headThumbnail(store, 0, 1, 2)), [1, 0, 1 / 3, 1 / 3].map(Math.fround));
  // One cell: the largest weight of the head.
  assert.deepEqual(Array.from(headThumbnail(store, 0, 1, 1)), [1]);
  // Every head in one array, [layer][head][cell].
  const all = allThumbnails(store, 2);
  assert.deepEqual(Array.from(all), [1, 0, 1, 1, 1, 0, 1 / 3, 1 / 3].map(Math.fround));
});

test('a thumbnail of windowed attention reads each query’s row from its window, re-added specials included', () => {
  // Tokens 0..4; window A runs [0,1,2] with 4 as trail, window B runs [3] with 0 as lead and 4 trailing.
  const a = Float32Array.from([0.5, 0.5, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1].map((x) => x));
  const b = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const store = new AttentionStore(
    [
      { start: 0, length: 3, layers: [a], trail: [4] },
      { start: 3, length: 1, layers: [b], lead: [0], trail: [4] },
    ],
    1,
    1,
  );
  // The last token is a trailing special: it ends every window and has no query row of its own here.
  assert.equal(store.tokens, 4);
  const t = headThumbnail(store, 0, 0, 4);
  assert.deepEqual(Array.from(t.subarray(0, 4)), [0.5, 0.5, 0, 0]);
  assert.deepEqual(Array.from(t.subarray(12, 16)), [0, 0, 0, 1], 'token 3 attends to itself');
});

test('the model view grid: one column per head, pictures between the smallest and largest size, and what lies under a point', () => {
  const bert = gridGeometry(12, 12, 640);
  assert.ok(bert.thumb >= THUMB_MIN && bert.width <= 640, JSON.stringify(bert));
  assert.equal(bert.height, bert.top + 12 * (bert.thumb + bert.gap));
  // One layer, one head: one picture, capped, not one huge one.
  const one = gridGeometry(1, 1, 900);
  assert.equal(one.thumb, THUMB_MAX);
  // 32 heads in 400 pixels: the smallest pictures, wider than the panel (it scrolls).
  const many = gridGeometry(32, 32, 400);
  assert.equal(many.thumb, THUMB_MIN);
  assert.ok(many.width > 400);
  // The middle of layer 2, head 3's picture, 10 tokens: query 5, key 5.
  const step = bert.thumb + bert.gap;
  const x = bert.left + 3 * step + bert.thumb / 2;
  const y = bert.top + 2 * step + bert.thumb / 2;
  assert.deepEqual(gridHit(bert, 12, 12, 10, x, y), { layer: 2, head: 3, query: 5, key: 5 });
  assert.equal(gridHit(bert, 12, 12, 10, bert.left + bert.thumb + 1, y), null, 'the gap between two pictures');
  assert.equal(gridHit(bert, 12, 12, 10, 2, y), null, 'the layer labels');
  assert.equal(gridHit(one, 1, 1, 1, one.left + 1, one.top + one.thumb - 1)?.query, 0, 'one token');
});

test('the model view as SVG: a label per layer and head, one embedded picture per head', () => {
  const geometry = gridGeometry(2, 3, 500);
  const svg = modelViewSvg({
    layers: 2,
    heads: 3,
    geometry,
    pictures: Array.from({ length: 6 }, (_, i) => `data:image/png;base64,P${i}`),
    colours: { background: '#1e1e1e', foreground: '#ccc', muted: '#999', accent: [0, 122, 204] },
  });
  assert.equal((svg.match(/<image /g) ?? []).length, 6);
  assert.match(svg, />H2<\/text>/);
  assert.match(svg, />L1<\/text>/);
  assert.match(svg, /href="data:image\/png;base64,P5"><title>layer 1, head 2<\/title>/);
});
