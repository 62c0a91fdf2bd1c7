/**
 * The panel page's first load and its faults, in headless Chromium, with the HTML the extension
 * generates: the engine in its worker, the cache that spares later loads the model's bytes, a
 * corrupt cache entry, a worker that crashes, requests that arrive while the model loads.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { WebviewToHost } from '../../src/common/protocol';
import type { WebviewConfig } from '../../src/common/webview-config';
import { LocalFileServer, type FileShare } from '../../src/host/local-file-server';
import { predictionsFrom } from '../../src/common/predictions';
import { formatPerplexity, sequenceLoss } from '../../src/common/surprisal';
import { ModelEngine } from '../../src/engine/model-engine';
import { bertTokenizerJson } from '../support/tokenizers';
import { exposeAttention } from '../../src/engine/attention-graph';
import { setUpRuntime } from '../../src/engine/runtime-init';
import { AttentionSession } from '../../src/engine/session';
import { launchChromium } from '../support/chromium';
import { crashEngineOnNextAnalysis, watchEngineCrash } from '../support/engine-crash';
import { writeMlmFolder } from '../support/mlm-model';
import { outputDir, ROOT } from '../support/paths';
import { serve } from '../support/static-server';
import { analyseRequest, openPanelPage, sendToWebview, sentByWebview, waitForMessage } from '../support/webview-page';

let browser: Browser;
let server: Awaited<ReturnType<typeof serve>>;
const shots = outputDir('engine');

const MLM_DIR = path.join(shots, 'mlm-model');

before(async () => {
  writeMlmFolder(MLM_DIR);
  server = await serve({
    '/dist/': path.join(ROOT, 'dist'),
    '/media/': path.join(ROOT, 'media'),
    '/mlm/': MLM_DIR,
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const CODE = 'def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n';
const analyse = (requestId: number, text = CODE, maxTokens = 1024) =>
  analyseRequest(requestId, text, { maxTokens }, 'a.py');

/** A panel page in `context`, and the URLs it has fetched (all of them: from before it said it was ready too). */
async function panelIn(
  context: BrowserContext,
  opts: Parameters<typeof openPanelPage>[2] = {},
  initScripts: (string | (() => void))[] = [],
  headers: Record<string, string> = {},
): Promise<{ page: Page; urls: () => Promise<string[]> }> {
  const page = await openPanelPage(context, server.url, { backend: 'wasm', ...opts }, initScripts, undefined, headers);
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const urls = (): Promise<string[]> =>
    page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
  return { page, urls };
}

const timeline = async (page: Page): Promise<{ marks: Record<string, number> }> =>
  JSON.parse((await page.evaluate(() => document.body.dataset.timeline)) ?? '{}') as { marks: Record<string, number> };

test('the engine runs in a worker, and a later page takes the prepared graph and the runtime from its cache: no model bytes fetched again', async () => {
  const context = await browser.newContext();
  const first = await panelIn(context, { modelHash: 'bundled-test-hash' });
  await sendToWebview(first.page, analyse(1));
  const a = await waitForMessage(first.page, 'result', 1);
  assert.equal(first.page.workers().length, 1, 'one engine worker');
  // The page wrote the prepared graph to its cache once the worker made it, and the worker said the
  // write (with its eviction pass) is done: closing the page earlier would cut it.
  await first.page.waitForFunction(async () =>
    (await (await caches.open('attention-explorer-v1')).keys()).some((r) => /\/prepared\/[^/]+$/.test(r.url)),
  );
  await first.page.waitForFunction(() => document.body.dataset.timeline?.includes('"prepared graph cached"'));
  // The worker keeps the runtime's binary too, a moment after the model has loaded.
  await first.page.waitForFunction(() => document.body.dataset.timeline?.includes('"runtime cached"'));
  await first.page.close();

  const second = await panelIn(context, { modelHash: 'bundled-test-hash' });
  // What the page says when it does not use its cache, for the failure message below.
  const said: string[] = [];
  second.page.on('console', (m) => said.push(m.text()));
  await sendToWebview(second.page, analyse(1));
  const b = await waitForMessage(second.page, 'result', 1);
  assert.deepEqual(b.tokens, a.tokens);
  assert.deepEqual(b.summaries, a.summaries, 'the same attention from the cached graph');
  assert.equal(
    (await second.urls()).filter((u) => u.endsWith('/model.onnx') || u.endsWith('.wasm')).length,
    0,
    `fetched: ${(await second.urls()).join(', ')}; the page said: ${said.join(' | ')}`,
  );
  const marks = (await timeline(second.page)).marks;
  assert.ok(marks['prepared graph from the cache'] && marks['runtime from the cache'], JSON.stringify(marks));
  assert.equal(marks.surgery, undefined, 'no surgery on the second load');
  await context.close();
});

test('a corrupt prepared graph in the cache is noticed, dropped and rebuilt from the model file', async () => {
  const context = await browser.newContext();
  const { page: p0 } = await panelIn(context, { modelHash: 'corrupt-test-hash' });
  // A whole entry (manifest and its one part) that is not a prepared graph of this model.
  await p0.evaluate(async () => {
    const bytes = new Uint8Array(5000).fill(7);
    bytes.set([0x41, 0x45, 0x50, 0x47], 0);
    const cache = await caches.open('attention-explorer-v1');
    await cache.put('https://attention-explorer.cache/prepared/corrupt-test-hash/part-0', new Response(bytes));
    await cache.put(
      'https://attention-explorer.cache/prepared/corrupt-test-hash',
      new Response(null, { headers: { 'x-bytes': '5000', 'x-parts': '1', 'x-stored': String(Date.now()) } }),
    );
  });
  await p0.close();
  const { page, urls } = await panelIn(context, { modelHash: 'corrupt-test-hash' });
  await sendToWebview(page, analyse(1));
  const r = await waitForMessage(page, 'result', 1);
  assert.equal(r.model.layers, 4);
  assert.equal((await urls()).filter((u) => u.endsWith('/model.onnx')).length, 1, 'the model file was fetched instead');
  const marks = (await timeline(page)).marks;
  assert.ok(marks['prepared graph rejected'] && marks.surgery, JSON.stringify(marks));
  // The entry now holds a whole prepared graph again (far larger than the corrupt 5,000 bytes), in parts.
  await page.waitForFunction(async () => {
    const hit = await (
      await caches.open('attention-explorer-v1')
    ).match('https://attention-explorer.cache/prepared/corrupt-test-hash');
    return (
      hit !== undefined && Number(hit.headers.get('x-bytes')) > 1_000_000 && Number(hit.headers.get('x-parts')) >= 2
    );
  });
  // Whole and of this version, but the graph inside is damaged: onnxruntime refuses it, and it is rebuilt.
  await page.evaluate(async () => {
    const cache = await caches.open('attention-explorer-v1');
    const url = 'https://attention-explorer.cache/prepared/corrupt-test-hash/part-0';
    const bytes = new Uint8Array(await (await cache.match(url))!.arrayBuffer());
    const graphStart = 12 + new DataView(bytes.buffer).getUint32(8, true);
    bytes.fill(0xff, graphStart, graphStart + 64);
    await cache.put(url, new Response(bytes));
  });
  await page.close();
  const again = await panelIn(context, { modelHash: 'corrupt-test-hash' });
  await sendToWebview(again.page, analyse(1));
  const r2 = await waitForMessage(again.page, 'result', 1);
  assert.deepEqual(r2.summaries, r.summaries);
  const marks2 = (await timeline(again.page)).marks;
  assert.ok(
    marks2['prepared graph from the cache'] && marks2['prepared graph rejected'] && marks2.surgery,
    JSON.stringify(marks2),
  );
  await context.close();
});

test('a worker that crashes mid-run: the panel says so, keeps the previous result, and its retry on fewer tokens runs on a fresh worker', async () => {
  const context = await browser.newContext();
  const { page } = await panelIn(context, {}, [watchEngineCrash]);
  await sendToWebview(page, analyse(1));
  await waitForMessage(page, 'result', 1);
  await page.evaluate(crashEngineOnNextAnalysis);
  await sendToWebview(page, analyse(2, CODE.repeat(20), 512));
  const err = await waitForMessage(page, 'error', 2);
  assert.match(err.message, /^the engine stopped: .*simulated crash/);
  const n = page.locator('.notice.error');
  assert.match(await n.innerText(), /Could not analyse the selection: the engine stopped/);
  assert.ok((await page.locator('.token-strip .token').count()) > 0, 'the previous result is still shown');
  await page.screenshot({ path: path.join(shots, 'panel-engine-crashed.png') });
  await n.locator('vscode-button', { hasText: 'Retry with at most 256 tokens' }).click();
  await page.waitForFunction(() => document.body.dataset.resultId === '2');
  const sent = await sentByWebview(page);
  const retried = sent.filter((m) => m.type === 'result' && m.requestId === 2);
  assert.equal(retried.length, 1);
  assert.ok(retried[0].type === 'result' && retried[0].tokens.length <= 256 && retried[0].truncated);
  assert.equal(page.workers().length, 1, 'the crashed worker is gone, one new one runs');
  await context.close();
});

test('requests sent while the model loads: the newest runs when it is ready, the older ones are superseded, and the panel answers hovers during a run', async () => {
  const context = await browser.newContext();
  const { page } = await panelIn(context);
  // All three before the model can have loaded; the panel says what it is loading meanwhile.
  await page.evaluate(
    (msgs) => msgs.forEach((m) => window.postMessage(m, '*')),
    [analyse(1, 'first'), analyse(2, 'second'), analyse(3, CODE)],
  );
  const stage = await page.locator('.progress-text').innerText();
  assert.match(
    stage,
    /^(Loading the model and the runtime|Preparing the graph|Starting the runtime|Creating the inference session|Compiling the model)/,
  );
  await page.screenshot({
    path: path.join(shots, 'panel-loading.png'),
    clip: { x: 0, y: 0, width: 1100, height: 120 },
  });
  // The views practise on a made-up result meanwhile (first-display.ts), unseen: nothing of it shows.
  assert.equal(await page.locator('.result').isVisible(), false);
  assert.equal(await page.locator('.token-strip .token').first().isVisible(), false);
  const r = await waitForMessage(page, 'result', 3);
  assert.equal(r.tokens[0].text, 'def');
  const strip = await page.locator('.token-strip').innerText();
  assert.ok(strip.startsWith('def') && !strip.includes('!"#$'), strip);
  // A request was waiting for the load: its run came first, with no warm-up run before it.
  const marks = (await timeline(page)).marks;
  assert.ok(marks['engine ready'] && marks.session, JSON.stringify(marks));
  assert.equal(marks['warm-up'], undefined);
  const sent = await sentByWebview(page);
  const superseded = sent
    .filter((m) => m.type === 'superseded')
    .map((m) => (m.type === 'superseded' ? m.requestId : -1));
  assert.deepEqual(superseded.sort(), [1, 2]);
  assert.equal(sent.filter((m) => m.type === 'result').length, 1, 'no run was spent on superseded text');

  // A long run (many windows) in the worker; meanwhile the page's main thread answers a hover.
  await sendToWebview(page, analyse(4, CODE.repeat(400), 4096));
  await page.locator('.progress-text', { hasText: 'Running the model' }).waitFor();
  await page.locator('.token-strip .token').nth(3).hover();
  await page.waitForFunction(() => document.querySelector('.details-title')?.textContent?.includes('(token 3)'));
  const during = await sentByWebview(page);
  assert.equal(
    during.some((m) => m.type === 'result' && m.requestId === 4),
    false,
    'the hover was answered while the run was still going',
  );
  await waitForMessage(page, 'result', 4);
  await context.close();
});

test('cross-origin isolated (COOP/COEP, as VS Code makes webviews with --enable-coi), the engine runs on several threads and gives the same attention', async () => {
  const context = await browser.newContext();
  const single = await panelIn(context);
  await sendToWebview(single.page, analyse(1));
  const one = await waitForMessage(single.page, 'result', 1);
  const isolated = await panelIn(context, {}, [], {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
  assert.equal(await isolated.page.evaluate(() => crossOriginIsolated), true);
  await sendToWebview(isolated.page, analyse(1));
  const many = await waitForMessage(isolated.page, 'result', 1);
  const timings = JSON.parse((await isolated.page.evaluate(() => document.body.dataset.timings)) ?? '{}') as Record<
    string,
    number
  >;
  assert.equal(timings.threads, Math.min(4, await isolated.page.evaluate(() => navigator.hardwareConcurrency)));
  assert.ok(timings.threads >= 2, 'this machine has at least two cores');
  // onnxruntime really started its thread workers (it falls back to one thread silently otherwise).
  const workers = isolated.page.workers().map((w) => w.url());
  assert.ok(workers.length >= timings.threads, `workers: ${workers.join(', ')}`);
  assert.deepEqual(many.tokens, one.tokens);
  // The same top-k lists and weights (to 1e-4) as on one thread.
  many.summaries.forEach((s, i) => {
    assert.deepEqual(
      s.attends.map((w) => w.index),
      one.summaries[i].attends.map((w) => w.index),
    );
    s.attends.forEach((w, k) => assert.ok(Math.abs(w.weight - one.summaries[i].attends[k].weight) < 1e-4));
  });
  await context.close();
});

/** The page's sources from a real local file server (the host's), sharing the engine's and the model's folders. */
function directSources(share: FileShare): WebviewConfig['direct'] {
  const model = path.join(ROOT, 'media', 'model');
  const url = (p: string): string => share.urlOf(p) ?? assert.fail(`${p} is not shared`);
  return {
    modelUrl: url(path.join(model, 'model.onnx')),
    tokenizerUrl: url(path.join(model, 'tokenizer.json')),
    configUrl: url(path.join(model, 'config.json')),
    tokenizerConfigUrl: null,
    engineBase: `${url(path.join(ROOT, 'dist', 'webview'))}/`,
  };
}

/**
 * The tests' pages are served by route, with no address, which Chromium's Local Network Access
 * counts as public: it refuses their requests to 127.0.0.1 (in VS Code, the page comes from a
 * loopback address or from VS Code's own scheme, and the e2e tests see the server used).
 */
const WITHOUT_LNA = ['--disable-features=LocalNetworkAccessChecks'];

test("the host's local file server (another origin, as in VS Code) gives the page every file, cross-origin isolated too", async () => {
  const browser = await launchChromium(WITHOUT_LNA);
  const files = await LocalFileServer.start();
  const share = files.share([path.join(ROOT, 'dist', 'webview'), path.join(ROOT, 'media', 'model')]);
  const COI = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  let reference: WebviewToHost | undefined;
  for (const headers of [{}, COI]) {
    const context = await browser.newContext();
    const { page, urls } = await panelIn(context, { direct: directSources(share) }, [], headers);
    await sendToWebview(page, analyse(1));
    const r = await waitForMessage(page, 'result', 1);
    if (reference) assert.deepEqual(r.tokens, (reference as typeof r).tokens);
    else reference = r;
    assert.equal(r.model.layers, 4);
    const fetched = await urls();
    const fromServer = fetched.filter((u) => u.startsWith(files.origin)).map((u) => u.slice(u.lastIndexOf('/') + 1));
    for (const f of [
      'model.onnx',
      'tokenizer.json',
      'config.json',
      'engine-worker-wasm.js',
      'ort-wasm-simd-threaded.wasm',
    ])
      assert.ok(fromServer.includes(f), `${f} from the local server: ${fromServer.join(', ')}`);
    const elsewhere = fetched.filter(
      (u) => /model\.onnx|tokenizer\.json|\.wasm$|engine-worker/.test(u) && !u.startsWith(files.origin),
    );
    assert.deepEqual(elsewhere, [], 'nothing of the model or the engine came another way');
    const marks = (await timeline(page)).marks;
    assert.ok(marks['local server used'], JSON.stringify(marks));
    assert.ok(!Object.keys(marks).some((k) => k.startsWith('local server failed')), JSON.stringify(marks));
    await context.close();
  }
  await files.close();
  await browser.close();
});

test('a local file server the page cannot reach (refused, revoked, or silent): the page loads the files the other way, once it gives up', async () => {
  const browser = await launchChromium(WITHOUT_LNA);
  const files = await LocalFileServer.start();
  const share = files.share([path.join(ROOT, 'dist', 'webview'), path.join(ROOT, 'media', 'model')]);
  const revoked = directSources(share);
  share.revoke();
  const closed = await LocalFileServer.start();
  const refused = directSources(closed.share([path.join(ROOT, 'dist', 'webview'), path.join(ROOT, 'media', 'model')]));
  await closed.close();
  // Accepts connections and never answers, like a port on another machine that swallows them.
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentOrigin = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  const swallowed = JSON.parse(JSON.stringify(revoked).replaceAll(files.origin, silentOrigin)) as typeof revoked;
  for (const [why, direct] of [
    ['404', revoked],
    ['refused', refused],
    ['no answer within 3000 ms', swallowed],
  ] as const) {
    const context = await browser.newContext();
    const { page } = await panelIn(context, { direct });
    await sendToWebview(page, analyse(1));
    const r = await waitForMessage(page, 'result', 1);
    assert.equal(r.model.layers, 4, why);
    const failed = Object.keys((await timeline(page)).marks).filter((k) => k.startsWith('local server failed'));
    assert.equal(failed.length, 1, `${why}: ${failed.join(' | ')}`);
    if (why !== 'refused') assert.ok(failed[0].includes(why), failed[0]);
    await context.close();
  }
  silent.close();
  await files.close();
  await browser.close();
});

test('predictions on: a surprisal strip under the tokens, with the mean loss and perplexity the engine computes in Node', async () => {
  const context = await browser.newContext();
  const { page } = await panelIn(context);
  const text = 'def add(a, b):\n    return a + b\n\ndef add(a, b):\n    return a + b\n';
  await sendToWebview(page, analyseRequest(1, text, { predictions: true }, 'a.py'));
  const r = await waitForMessage(page, 'result', 1);
  const strip = page.locator('.surprisal');
  await strip.waitFor();
  const cells = page.locator('.surprisal-cell');
  assert.equal(await cells.count(), r.tokens.length);
  // The same model in Node: its logits for the same ids, through the engine's own arithmetic.
  setUpRuntime();
  const bytes = new Uint8Array(fs.readFileSync(path.join(ROOT, 'media', 'model', 'model.onnx')));
  const session = await AttentionSession.create(exposeAttention(bytes, { logits: true }), [], 'wasm');
  const ids = r.tokens.map((t) => t.id);
  const { logits, vocabulary } = await session.runLogits(ids);
  await session.release();
  const predicted = predictionsFrom(logits, vocabulary, ids);
  const loss = sequenceLoss(predicted) ?? assert.fail('a loss');
  const caption = (await page.locator('.surprisal-caption').textContent()) ?? '';
  assert.ok(caption.includes(`mean loss ${loss.loss.toFixed(2)} nats`), caption);
  assert.ok(caption.includes(`perplexity ${formatPerplexity(loss.perplexity)}`), caption);
  const bits = await cells.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.bits ?? ''));
  assert.equal(bits[0], '', 'the first token has no prediction');
  for (let j = 1; j < ids.length; j++)
    assert.ok(Math.abs(Number(bits[j]) + (predicted[j - 1].logprob ?? NaN) / Math.LN2) < 1e-3, `token ${j}`);
  // The repeated line is far less surprising the second time (the model's induction heads).
  const half = ids.length / 2;
  const mean = (a: string[]) => a.reduce((s, b) => s + Number(b), 0) / a.length;
  assert.ok(mean(bits.slice(half + 1)) < mean(bits.slice(1, half)) / 2, bits.join(' '));
  await cells.nth(half + 3).hover();
  assert.match((await cells.nth(half + 3).getAttribute('title')) ?? '', /bits · expected: /);
  await page.screenshot({ path: path.join(shots, 'surprisal-strip.png') });
  // Off again: no strip.
  await sendToWebview(page, analyseRequest(2, text, { predictions: false }, 'a.py'));
  await waitForMessage(page, 'result', 2);
  await page.waitForFunction(() => (document.querySelector('.surprisal') as HTMLElement).hidden);
  await context.close();
});

test('predictions from a masked language model: each token masked in turn, its surprisal in the strip and what the model fills in, for the host too', async () => {
  const context = await browser.newContext();
  const { page } = await panelIn(context, { folderUrl: `${server.url}/mlm`, modelName: 'bert-mlm' });
  const text = 'the cat sat, hello unbelievable!';
  await sendToWebview(page, analyseRequest(1, text, { predictions: true }, 'a.txt'));
  const r = await waitForMessage(page, 'result', 1);
  assert.equal(r.model.causal, false);
  const shown = r.predictions ?? assert.fail('predictions for the host');
  // The same model in Node, through the same engine: the token's own log-probability, masked.
  setUpRuntime();
  const engine = new ModelEngine();
  engine.loadText({
    tokenizer: bertTokenizerJson(['cat', 'sat'], { mask: true }),
    tokenizerConfig: null,
    config: null,
  });
  await engine.loadModel(
    {
      name: 'bert-mlm',
      graph: new Uint8Array(fs.readFileSync(path.join(MLM_DIR, 'model.onnx'))),
      external: async () => [],
    },
    'wasm',
    { logits: true },
  );
  const node = await engine.analyse(text, 1024, { predictions: true });
  await engine.release();
  assert.equal(node.predictionKind, 'masked');
  const expected = node.predictions ?? assert.fail('predictions in Node');
  const cells = page.locator('.surprisal-cell');
  const bits = await cells.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.bits ?? ''));
  assert.equal(bits.length, r.tokens.length);
  r.tokens.forEach((t, i) => {
    const lp = expected[i].logprob;
    if (t.special) {
      assert.equal(bits[i], '', `special token ${i} is not masked`);
      assert.equal(shown[i].bits, null);
      return;
    }
    assert.ok(lp !== null && Math.abs(Number(bits[i]) + lp / Math.LN2) < 1e-3, `token ${i}`);
    assert.ok(Math.abs((shown[i].bits ?? NaN) + lp / Math.LN2) < 1e-3, `host token ${i}`);
    // What it fills in is said for the token itself; there is nothing "next" from a masked model.
    assert.equal(shown[i].expected[0].text, expected[i].top[0].text);
    assert.equal(shown[i].next.length, 0);
  });
  const caption = (await page.locator('.surprisal-caption').textContent()) ?? '';
  const loss = sequenceLoss(expected) ?? assert.fail('a loss');
  assert.ok(caption.includes('each token masked in turn'), caption);
  assert.ok(caption.includes(`mean pseudo-loss ${loss.loss.toFixed(2)} nats`), caption);
  assert.ok(caption.includes(`pseudo-perplexity ${formatPerplexity(loss.perplexity)}`), caption);
  assert.match((await cells.nth(2).getAttribute('title')) ?? '', /bits · fills in: /);
  await page.locator('.surprisal').screenshot({ path: path.join(shots, 'surprisal-masked.png') });
  await page.screenshot({ path: path.join(shots, 'surprisal-masked-panel.png') });
  await context.close();
});
