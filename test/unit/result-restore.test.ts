/**
 * The last result a reloaded panel shows at once: kept after it is drawn, given back whole (the
 * engine's own result, attention and predictions alike) only for the same request and graph.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelEngine, type EngineResult } from '../../src/engine/model-engine';
import { setUpRuntime } from '../../src/engine/runtime-init';
import type { CacheKind } from '../../webview/byte-cache';
import { ResultRestore, type RestoreCache } from '../../webview/result-restore';
import { bertWithMlmHead } from '../support/mlm-model';
import { bertTokenizerJson } from '../support/tokenizers';
import { analyseRequest } from '../support/webview-page';

setUpRuntime();

/** The panel's cache as a Map (CacheStorage is the browser's; the page's tests use the real one). */
function mapCache(): RestoreCache & { files: Map<string, ArrayBuffer> } {
  const files = new Map<string, ArrayBuffer>();
  const key = (kind: CacheKind, k: string): string => `${kind}/${k}`;
  return {
    files,
    get: async (kind, k) => files.get(key(kind, k)),
    put: async (kind, k, bytes) => (files.set(key(kind, k), bytes.slice(0)), true),
    delete: async (kind, k) => void files.delete(key(kind, k)),
  };
}

const attention = (r: EngineResult): number[][] => r.store.windows.flatMap((w) => w.layers.map((l) => Array.from(l)));
/** A result's other fields, as JSON keeps them (numbers and strings as they are). */
const rest = (r: EngineResult): unknown => {
  const { store: _store, ...others } = r;
  return JSON.parse(JSON.stringify(others));
};

test("a result kept for a reload is given back whole for the same request and graph, and not for another's", async () => {
  const engine = new ModelEngine();
  engine.loadText({
    tokenizer: bertTokenizerJson(['cat', 'sat'], { mask: true }),
    tokenizerConfig: null,
    config: null,
  });
  await engine.loadModel({ name: 'bert-mlm', graph: bertWithMlmHead(), external: async () => [] }, 'wasm', {
    logits: true,
  });
  const r = await engine.analyse('the cat sat', 512, { predictions: true });
  await engine.release();
  assert.equal(r.predictionKind, 'masked');

  const cache = mapCache();
  const restore = new ResultRestore('hash-a', async () => cache);
  const request = analyseRequest(7, 'the cat sat', { predictions: true });
  await restore.keepSoon(r, request);
  assert.equal(cache.files.size, 1);

  // The saved state's copy of the request, with its keys in another order: the same request.
  const { settings, ...others } = request;
  const reordered = JSON.parse(JSON.stringify({ settings, ...others })) as typeof request;
  const back = (await restore.read(reordered)) ?? assert.fail('not restored');
  assert.deepEqual(attention(back), attention(r));
  assert.deepEqual(rest(back), rest(r));
  assert.equal(back.store.heads, r.store.heads);
  assert.equal(back.store.layers, r.store.layers);

  // Another text, other settings, an intervention, another graph file, no graph hash: nothing.
  assert.equal(await restore.read({ ...request, text: 'the cat' }), null);
  assert.equal(await restore.read({ ...request, settings: { ...request.settings, maxTokens: 64 } }), null);
  assert.equal(await restore.read({ ...request, intervention: { heads: [], hiddenTokens: [1] } }), null);
  assert.equal(await new ResultRestore('hash-b', async () => cache).read(request), null);
  assert.equal(await new ResultRestore(null, async () => cache).read(request), null);
  // A damaged entry reads as none.
  cache.files.set('restore/last', cache.files.get('restore/last')!.slice(0, 100));
  assert.equal(await restore.read(request), null);
});

test('of results drawn in quick succession only the last is kept; a newer one too large to keep drops the one before', async () => {
  const engine = new ModelEngine();
  engine.loadText({ tokenizer: bertTokenizerJson(['cat', 'sat']), tokenizerConfig: null, config: null });
  await engine.loadModel({ name: 'bert-mlm', graph: bertWithMlmHead(), external: async () => [] }, 'wasm');
  const first = await engine.analyse('the cat', 512);
  const second = await engine.analyse('the cat sat', 512);
  await engine.release();

  const cache = mapCache();
  let writes = 0;
  const restore = new ResultRestore('hash-a', async () => ({
    ...cache,
    put: async (kind, k, bytes) => (writes++, cache.put(kind, k, bytes)),
  }));
  const a = analyseRequest(1, 'the cat');
  const b = analyseRequest(2, 'the cat sat');
  const replaced = restore.keepSoon(first, a);
  await restore.keepSoon(second, b);
  await replaced;
  assert.equal(writes, 1);
  assert.equal(await restore.read(a), null);
  assert.ok(await restore.read(b));
  // The same text again (a re-run: a new request id) is not written again, and its id reads it back.
  await restore.keepSoon(second, { ...b, requestId: 9 });
  assert.equal(writes, 1);
  assert.ok(await restore.read({ ...b, requestId: 9 }));

  // 33 MiB of attention: more than is kept.
  const huge = {
    ...second,
    store: { ...second.store, windows: [{ ...second.store.windows[0], layers: [new Float32Array(33 * 262_144)] }] },
  } as unknown as EngineResult;
  await restore.keepSoon(huge, analyseRequest(3, 'the cat sat sat'));
  assert.equal(cache.files.size, 0);
  assert.equal(await restore.read(b), null);
});
