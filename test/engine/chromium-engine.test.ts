import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { FIXTURES, ROOT, maxAbsDiff, outputDir, readReference } from '../support/paths';
import { loseGpuAtNextSubmit, watchGpuDevices } from '../support/gpu-loss';
import { serve } from '../support/static-server';
import {
  analyseRequest,
  openPanelPage,
  panelPage,
  sendToWebview,
  sentByWebview,
  waitForMessage,
} from '../support/webview-page';

let browser: Browser;
let server: Awaited<ReturnType<typeof serve>>;
const shots = outputDir('engine');

before(async () => {
  const truncated = path.join(outputDir('engine-models'), 'truncated.onnx');
  const whole = fs.readFileSync(path.join(ROOT, 'media', 'model', 'model.onnx'));
  fs.writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  server = await serve(
    {
      '/dist/': path.join(ROOT, 'dist'),
      '/media/': path.join(ROOT, 'media'),
      '/fixtures/': FIXTURES,
      '/bad/': path.dirname(truncated),
    },
    {},
  );
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function harness(): Promise<Page> {
  const page = await browser.newPage();
  const html = `<!DOCTYPE html><html><body><script type="module" src="/dist/test-browser/fixture-harness.js"></script></body></html>`;
  await page.route('**/harness.html', (r) => r.fulfill({ body: html, contentType: 'text/html' }));
  await page.goto(`${server.url}/harness.html`);
  await page.waitForFunction(() => document.title === 'harness ready');
  return page;
}

for (const backend of ['wasm', 'webgpu'] as const) {
  for (const [file, refName, data] of [
    ['bert.onnx', 'bert', []],
    ['gpt2.onnx', 'gpt2', []],
    ['llama-dynamo.onnx', 'llama', ['llama-dynamo.onnx.data']],
    ['bert-fp16.onnx', 'bert-fp16', []],
    ['bert-int8.onnx', 'bert-int8', []],
    ['fused-mha.onnx', 'fused-mha', []],
  ] as const) {
    test(`Chromium, ${backend}: ${file} matches the reference attentions to 1e-4`, async () => {
      const page = await harness();
      const ref = readReference(refName);
      const out = await page.evaluate(
        ([url, files, ids, b]) =>
          (
            window as unknown as {
              runFixture: (
                ...a: unknown[]
              ) => Promise<{ backend: string; note: string | null; layers: number[][]; heads: number }>;
            }
          ).runFixture(url, files, ids, b),
        [`${server.url}/fixtures/${file}`, [...data], ref.input_ids[0], backend] as const,
      );
      await page.close();
      if (/fp16|int8/.test(file)) {
        // Reduced-precision graphs run on WebAssembly, which reproduces them; WebGPU does not.
        assert.equal(out.backend, 'wasm');
        if (backend === 'webgpu')
          assert.match(
            out.note ?? '',
            /runs on WebAssembly: ONNX Runtime's WebGPU backend does not reproduce its attention exactly/,
          );
      } else {
        assert.equal(out.backend, backend, 'the backend asked for is the one that ran');
      }
      assert.equal(out.heads, ref.attentions[0].length);
      const diff = maxAbsDiff(out.layers, ref.attentions);
      assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
    });
  }
}

test('Chromium: a WebGPU device lost between runs: the next run finishes on WebAssembly, says so, and still matches the reference', async () => {
  const page = await harness();
  const ref = readReference('gpt2');
  type Side = { backend: string; note?: string | null; layers: number[][] };
  const r = await page.evaluate(
    ([url, ids]) =>
      (
        window as unknown as {
          webGpuLoss: (...a: unknown[]) => Promise<{
            first: Side;
            after: Side;
            againBackend: string;
            againLayers: number;
            opened: { backend: string; note: string | null; rows: number };
          }>;
        }
      ).webGpuLoss(url, ids),
    [`${server.url}/fixtures/gpt2.onnx`, ref.input_ids[0]] as const,
  );
  await page.close();
  assert.equal(r.first.backend, 'webgpu');
  assert.ok(maxAbsDiff(r.first.layers, ref.attentions) < 1e-4);
  assert.equal(r.after.backend, 'wasm');
  assert.match(
    r.after.note ?? '',
    /^WebGPU failed: the WebGPU device was lost \(Device was destroyed\)\. Switched to WebAssembly for this model\.$/,
  );
  const diff = maxAbsDiff(r.after.layers, ref.attentions);
  assert.ok(diff < 1e-4, `max |diff| = ${diff}`);
  assert.equal(r.againBackend, 'wasm');
  assert.equal(r.againLayers, 2);
  // A model opened after the loss does not wait on the dead device.
  assert.equal(r.opened.backend, 'wasm');
  assert.match(r.opened.note ?? '', /WebGPU failed to open the model \(the WebGPU device was lost/);
  assert.equal(r.opened.rows, 2);
});

/** The URLs each panel page requested, in order. */
const requests = new WeakMap<Page, string[]>();

/** The panel's page in a new tab; every URL it requests is recorded. */
async function panel(
  opts: Parameters<typeof panelPage>[1] = {},
  initScripts: (string | (() => void))[] = [],
  viewport?: { width: number; height: number },
): Promise<Page> {
  const urls: string[] = [];
  const context = await browser.newContext();
  context.on('request', (r) => urls.push(r.url()));
  const page = await openPanelPage(context, server.url, opts, initScripts, viewport);
  page.on('pageerror', (e) => console.error('page error:', e.message));
  requests.set(page, urls);
  return page;
}

const CODE = `function fibonacci(n) {
  if (n < 2) return n;
  return fibonacci(n - 1) + fibonacci(n - 2);
}
// naïve recursion 😀
`;

test('the panel page runs the bundled model, draws the head view and the matrix, and answers hovers', async () => {
  const page = await panel();
  await sendToWebview(page, analyseRequest(1, CODE, { backend: 'webgpu', maxTokens: 1024, topK: 5 }, 'fib.js'));
  const result = await waitForMessage(page, 'result', 1);
  assert.equal(
    result.backend,
    'webgpu',
    `the webgpu setting runs on the adapter there is, software or not (${result.backendNote})`,
  );
  assert.equal(result.model.layers, 4);
  assert.equal(result.model.heads, 8);
  assert.equal(result.model.causal, true);
  assert.equal(result.tokens[0].text, 'function');
  assert.equal(result.summaries.length, result.tokens.length);
  assert.equal(result.analysed.end, CODE.length);
  assert.match(
    await page.locator('.run-header').innerText(),
    /code-prose-gpt · WebGPU · \d+ ms · \d+ tokens · 4 layers × 8 heads · causal/,
  );

  // The head view's canvas has lines on it.
  const inked = await page.evaluate(() => {
    const c = document.querySelector('.head-view canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(inked > 5000, `head view painted ${inked} pixels`);
  await page.screenshot({ path: path.join(shots, 'panel-head-view.png'), fullPage: true });

  // Hover the second "return": the details list what it attends to.
  const chips = page.locator('.token-strip .token');
  const fibs = await chips.evaluateAll((els) =>
    els
      .map((e, i) => [e.textContent, i] as const)
      .filter(([t]) => t?.includes('return'))
      .map(([, i]) => i),
  );
  assert.ok(fibs.length >= 2);
  await chips.nth(fibs[1]).hover();
  await page.waitForSelector('.details-title');
  assert.match(await page.locator('.details-title').innerText(), /token \d+\) — layer 0, all heads \(mean\)/);
  assert.equal(await page.locator('.details-list').first().locator('.details-item').count(), 5);
  const focusMsg = (await sentByWebview(page)).filter((m) => m.type === 'focusToken').pop();
  assert.deepEqual(focusMsg, { type: 'focusToken', requestId: 1, index: fibs[1] });
  await chips.nth(fibs[1]).click();
  await page.screenshot({ path: path.join(shots, 'panel-pinned.png'), fullPage: true });

  // The host picks layer 3, head 7 (the induction head): the panel follows and sends a summary.
  await sendToWebview(page, { type: 'setView', view: { layer: 3, head: 7 } });
  const summary = await waitForMessage(page, 'summary', 1);
  assert.deepEqual(summary.view, { layer: 3, head: 7 });
  assert.match(await page.locator('.details-title').innerText(), /layer 3, head 7/);

  // Every head of the layer in its own colour.
  await page.locator('#colour-by-head').click();
  const hues = await page.evaluate(() => {
    const c = document.querySelector('.head-view canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<string>();
    for (let i = 0; i < d.length; i += 4)
      if (d[i + 3] > 200 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60)
        seen.add(`${d[i] >> 5},${d[i + 1] >> 5},${d[i + 2] >> 5}`);
    return seen.size;
  });
  assert.ok(hues >= 4, `${hues} distinct line colours`);
  await page.screenshot({ path: path.join(shots, 'panel-all-heads-in-colour.png'), fullPage: true });
  await page.locator('#colour-by-head').click();

  // Matrix tab.
  await page.locator('vscode-tab-header', { hasText: 'Matrix' }).click();
  await page.waitForSelector('.matrix-view canvas');
  const cells = await page.evaluate(() => {
    const c = document.querySelector('.matrix-view canvas') as HTMLCanvasElement;
    return c.width > 100 && c.height > 100;
  });
  assert.ok(cells);
  await page.screenshot({ path: path.join(shots, 'panel-matrix.png'), fullPage: true });

  // "auto" does not pick a software adapter (SwiftShader here): WebAssembly is faster, and it says so.
  await sendToWebview(page, analyseRequest(2, CODE, { backend: 'auto', maxTokens: 1024, topK: 5 }, 'fib.js'));
  const auto = await waitForMessage(page, 'result', 2);
  assert.equal(auto.backend, 'wasm');
  assert.match(auto.backendNote ?? '', /software renderer \(google swiftshader\)/);
  for (let l = 0; l < 4; l++) assert.deepEqual(auto.tokens, result.tokens);

  // A malformed message is ignored and the panel keeps working.
  await sendToWebview(page, { type: 'setView', view: { layer: 'x' } } as Record<string, unknown>);
  await sendToWebview(page, { type: 'bogus' });
  await sendToWebview(page, { type: 'setView', view: { layer: 1, head: 'max' } });
  await page.waitForFunction(() =>
    document.querySelector('.details-title')?.textContent?.includes('layer 1, all heads (max)'),
  );
  await page.context().close();
});

/** Random-looking words, twice: the bundled model's induction heads (layer 3) copy the second time. */
const REPEATED_WORDS = `${'delta quartz fig ember noodle violet walrus cobalt tulip anvil rhubarb sonnet\n'.repeat(2)}`;

test('the head finder: the Heads tab scores every head, sorts by any column, and a chosen row is shown in the head view', async () => {
  const page = await panel({ backend: 'wasm' });
  await sendToWebview(page, analyseRequest(1, REPEATED_WORDS, {}, 'words.txt'));
  await waitForMessage(page, 'result', 1);
  await page.locator('vscode-tab-header', { hasText: 'Heads' }).click();
  const rows = page.locator('.head-table tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 32, 'every one of 4 × 8 heads');
  // Sorted by induction, highest first: a layer-3 head leads, as the model card says.
  assert.equal(await page.locator('.head-table th[aria-sort="descending"]').innerText(), 'Induction');
  assert.match(await rows.first().locator('td').first().innerText(), /^L3 · H\d$/);
  const induction = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[1].textContent)));
  assert.deepEqual(
    induction,
    [...induction].sort((a, b) => b - a),
  );
  await page.screenshot({ path: path.join(shots, 'panel-head-finder.png'), fullPage: true });
  // Sorting by another column, then reversing it.
  await page.locator('.head-table button.sort', { hasText: 'Previous' }).click();
  const previous = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[2].textContent)));
  assert.deepEqual(
    previous,
    [...previous].sort((a, b) => b - a),
  );
  await page.locator('.head-table button.sort', { hasText: 'Previous' }).click();
  assert.equal(await page.locator('.head-table th[aria-sort="ascending"]').innerText(), 'Previous');
  // A row (by the keyboard) shows that head in the head view, and tells the host.
  const chosen = rows.nth(3);
  const [layer, head] = [
    Number(await chosen.getAttribute('data-layer')),
    Number(await chosen.getAttribute('data-head')),
  ];
  await chosen.focus();
  await page.keyboard.press('Enter');
  await page.locator('.head-view canvas').waitFor({ state: 'visible' });
  const summary = (await sentByWebview(page)).filter((m) => m.type === 'summary').pop();
  assert.deepEqual(summary && summary.type === 'summary' ? summary.view : null, { layer, head });
  // The keyboard: the arrows move a pinned token, the editor is told each time; Escape unpins.
  await page.locator('body').click({ position: { x: 2, y: 2 } });
  const focusMessages = async (): Promise<(number | null)[]> =>
    (await sentByWebview(page)).flatMap((m) => (m.type === 'focusToken' ? [m.index] : []));
  const before = (await focusMessages()).length;
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Escape');
  assert.deepEqual((await focusMessages()).slice(before), [71, 70, null]);
  // The host's Find Heads… asks for the scores: the page answers with the same table.
  await sendToWebview(page, { type: 'scoreHeads', requestId: 1 });
  const scores = await waitForMessage(page, 'headScores', 1);
  assert.equal(scores.heads.length, 32);
  const best = [...scores.heads].sort((a, b) => b.scores.induction! - a.scores.induction!)[0];
  assert.equal(best.layer, 3);
});

test('the model view: every layer × head as a picture, a hover marks the token in each, a click opens that head, and it exports as an SVG', async () => {
  const page = await panel({ backend: 'wasm' });
  await sendToWebview(page, analyseRequest(1, REPEATED_WORDS, {}, 'words.txt'));
  const result = await waitForMessage(page, 'result', 1);
  await page.locator('vscode-tab-header', { hasText: 'Model view' }).click();
  const canvas = page.locator('.model-view canvas');
  await canvas.waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.body.dataset.modelView !== undefined);
  // 4 layers × 8 heads of pictures: ink in every one of them (each row of a causal head sums to 1).
  const inkPerHead = await page.evaluate(() => {
    const c = document.querySelector('.model-view canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, height: c.height, inked: Array.from(d).filter((v, i) => i % 4 === 3 && v > 128).length };
  });
  assert.ok(inkPerHead.inked > 32 * 50, `model view: ${JSON.stringify(inkPerHead)}`);
  await page.screenshot({ path: path.join(shots, 'panel-model-view.png'), fullPage: true });
  // Hovering the middle of layer 3, head 5's picture focuses the query under the pointer.
  const box = (await canvas.boundingBox())!;
  const geometry = await page.evaluate(() => {
    const c = document.querySelector('.model-view canvas') as HTMLCanvasElement;
    return { width: c.getBoundingClientRect().width };
  });
  assert.ok(geometry.width > 200);
  const step = (box.width - 34) / 8;
  const thumb = step - 6;
  const x = box.x + 34 + 5 * step + thumb / 2;
  const y = box.y + 18 + 3 * step + thumb * 0.75;
  await page.mouse.move(x, y);
  const tip = page.locator('.model-view .matrix-tip');
  await tip.waitFor({ state: 'visible' });
  assert.match(await tip.innerText(), /^layer 3, head 5\n.+ → .+: \d\.\d{3}$/);
  const focused = (await sentByWebview(page)).filter((m) => m.type === 'focusToken').pop();
  const n = result.tokens.length;
  assert.ok(
    focused?.type === 'focusToken' && focused.index !== null && Math.abs(focused.index - Math.floor(0.75 * n)) <= 1,
    `focus ${JSON.stringify(focused)} of ${n}`,
  );
  await page.screenshot({ path: path.join(shots, 'panel-model-view-hover.png'), fullPage: true });
  // An export of the open tab: an SVG with one picture per head.
  await sendToWebview(page, { type: 'export', requestId: 1, format: 'svg' });
  const svg = await waitForMessage(page, 'exported', 1);
  const svgText = new TextDecoder().decode(svg.data!);
  assert.equal((svgText.match(/<image /g) ?? []).length, 32, svg.error ?? '');
  fs.writeFileSync(path.join(shots, 'panel-model-view.svg'), svgText);
  // A click opens that head in the head view, and the host hears of it.
  const after = (await canvas.boundingBox())!;
  assert.deepEqual([after.width, after.height], [box.width, box.height], 'the grid keeps its size');
  await page.mouse.click(x, y + after.y - box.y);
  await page.locator('.head-view canvas').waitFor({ state: 'visible' });
  const summary = (await sentByWebview(page)).filter((m) => m.type === 'summary').pop();
  assert.deepEqual(summary?.type === 'summary' ? summary.view : null, { layer: 3, head: 5 });
  await page.context().close();
});

test('the query·key view: the pinned query against every key of one head, from a run of its window; another head draws at once', async () => {
  const page = await panel({ backend: 'wasm' });
  await sendToWebview(page, analyseRequest(1, REPEATED_WORDS, {}, 'words.txt'));
  const result = await waitForMessage(page, 'result', 1);
  const n = result.tokens.length;
  const caption = page.locator('.query-key-caption');
  await page.locator('vscode-tab-header', { hasText: 'Query · key' }).click();
  // The mean over heads has no query or key: the view says what to choose.
  await caption.filter({ hasText: 'shows one head' }).waitFor();
  await sendToWebview(page, { type: 'setView', view: { layer: 3, head: 7 } });
  await caption.filter({ hasText: /^Layer 3, head 7 · query .*\(token \d+, the last/ }).waitFor();
  // Pin the second "walrus": its row has every earlier key, one line each, the later ones masked.
  const chips = page.locator('.token-strip .token');
  const walrus = await chips.evaluateAll((els) => els.flatMap((e, i) => (e.textContent?.includes('wal') ? [i] : [])));
  assert.equal(walrus.length, 2);
  await chips.nth(walrus[1]).click();
  await caption
    .filter({
      hasText: new RegExp(
        `token ${walrus[1]}\\) · score = q·k × 0\\.\\d+ \\(1/√\\d+\\), plus the mask \\(recovered from the attention\\)`,
      ),
    })
    .waitFor();
  const height = await page.locator('.query-key-view canvas').evaluate((c: HTMLCanvasElement) => c.style.height);
  assert.equal(height, `${6 * 2 + (n + 2) * 16}px`, 'a line per key of the window, below the query');
  await page.screenshot({ path: path.join(shots, 'panel-query-key.png'), fullPage: true });
  // Another head of the same layer: drawn from the vectors already fetched.
  await sendToWebview(page, { type: 'setView', view: { layer: 3, head: 2 } });
  await caption.filter({ hasText: /^Layer 3, head 2 · query/ }).waitFor({ timeout: 1000 });
  // An aggregate again: the message, and the Head view still works.
  await sendToWebview(page, { type: 'setView', view: { layer: 3, head: 'max' } });
  await caption.filter({ hasText: 'shows one head' }).waitFor();
  await page.context().close();
});

test('whole words: the panel merges sub-word tokens into words, and sends the host the result again in words', async () => {
  const page = await panel({ backend: 'wasm' });
  await sendToWebview(page, analyseRequest(1, CODE, {}, 'fib.js'));
  const tokens = await waitForMessage(page, 'result', 1);
  const chips = page.locator('.token-strip .token');
  await page.locator('#word-level').click();
  await page.waitForFunction(
    () => (window as unknown as { __sent: { type: string }[] }).__sent.filter((m) => m.type === 'result').length === 2,
  );
  const words = (await sentByWebview(page)).filter((m) => m.type === 'result').pop()!;
  assert.ok(words.type === 'result' && words.tokens.length < tokens.tokens.length);
  // "fibonacci" is one word, spelled by several tokens; every offset is kept.
  const texts = words.type === 'result' ? words.tokens.map((t) => t.text) : [];
  assert.ok(texts.includes(' fibonacci'), texts.join('|'));
  assert.ok(tokens.tokens.filter((t) => /^ ?f|ib|on|acci/.test(t.text)).length > 2);
  assert.equal(await chips.count(), texts.length);
  assert.match(
    await page.locator('.run-header').innerText(),
    new RegExp(`· ${texts.length} words of ${tokens.tokens.length} tokens ·`),
  );
  if (words.type === 'result') {
    assert.equal(words.tokens[0].start, 0);
    assert.equal(words.tokens.at(-1)!.end, tokens.tokens.at(-1)!.end);
    for (const s of words.summaries) {
      const total = s.attends.reduce((a, x) => a + x.weight, 0);
      assert.ok(total <= 1 + 1e-5, 'a word’s row still sums to at most 1');
    }
  }
  await page.screenshot({ path: path.join(shots, 'panel-whole-words.png'), fullPage: true });
  // A word has no query or key of its own: the query·key view says so instead of running words as tokens.
  await page.locator('vscode-tab-header', { hasText: 'Query · key' }).click();
  await page.locator('.query-key-caption', { hasText: 'switch off Whole words' }).waitFor();
  await page.locator('vscode-tab-header', { hasText: 'Head view' }).click();
  // Back to tokens: the host hears of the tokens again.
  await page.locator('#word-level').click();
  await page.waitForFunction(
    () => (window as unknown as { __sent: { type: string }[] }).__sent.filter((m) => m.type === 'result').length === 3,
  );
  assert.equal(await chips.count(), tokens.tokens.length);
  await page.context().close();
});

test('several tokens in focus (an editor selection): their rows summed in the details, the strip and the editor’s shading', async () => {
  const page = await panel({ backend: 'wasm' });
  await sendToWebview(page, analyseRequest(1, CODE, {}, 'fib.js'));
  const result = await waitForMessage(page, 'result', 1);
  await sendToWebview(page, { type: 'setView', view: { layer: 2, head: 'mean' } });
  // Tokens 1 to 4 (" fibonacci" and what follows), as the host sends for a selection.
  await sendToWebview(page, { type: 'focusTokens', requestId: 1, range: { first: 1, last: 4 } });
  const summary = await waitForMessage(page, 'rangeSummary', 1);
  assert.deepEqual([summary.first, summary.last], [1, 4]);
  // The summed row of four causal rows: four units of weight over the keys up to token 4.
  const total = summary.attends.reduce((a, w) => a + w.weight, 0);
  assert.ok(total > 3.5 && total <= 4 + 1e-4, `summed weight ${total}`);
  assert.ok(
    summary.attends.every((w) => w.index <= 4),
    'a causal model: nothing after the last token',
  );
  await page
    .locator('.details-title', { hasText: /\(tokens 1–4, their rows summed\) — layer 2, all heads \(mean\)/ })
    .waitFor();
  assert.equal(await page.locator('.token-strip .token.focused').count(), 4);
  await page.screenshot({ path: path.join(shots, 'panel-several-tokens.png'), fullPage: true });
  // Another layer: the editor gets the new sum.
  await sendToWebview(page, { type: 'setView', view: { layer: 3, head: 'mean' } });
  await page.waitForFunction(
    () =>
      (window as unknown as { __sent: { type: string }[] }).__sent.filter((m) => m.type === 'rangeSummary').length ===
      2,
  );
  // The selection ends: one token again, nothing focused.
  await sendToWebview(page, { type: 'focusTokens', requestId: 1, range: null });
  await page.locator('.details.hint').waitFor();
  const last = (await sentByWebview(page)).filter((m) => m.type === 'focusToken').pop();
  assert.deepEqual(last, { type: 'focusToken', requestId: 1, index: null });
  // A range past the tokens, or for another result, is ignored.
  await sendToWebview(page, { type: 'focusTokens', requestId: 1, range: { first: 1, last: result.tokens.length } });
  await sendToWebview(page, { type: 'focusTokens', requestId: 9, range: { first: 1, last: 2 } });
  await page.waitForTimeout(200);
  assert.equal(await page.locator('.token-strip .token.focused').count(), 0);
  await page.context().close();
});

test('the panel: no WebGPU adapter falls back to WebAssembly and says so; long text is windowed and cut at maxTokens', async () => {
  // No adapter for this page: WebGPU's entry point is gone, as on a machine without a GPU.
  const p = await panel(
    { backend: 'webgpu' },
    [() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined })],
    { width: 1000, height: 900 },
  );
  const long = 'The quick brown fox jumps over the lazy dog. '.repeat(120);
  await sendToWebview(p, analyseRequest(7, long, { backend: 'webgpu', maxTokens: 400, topK: 3 }, 'fox.txt'));
  const r = await waitForMessage(p, 'result', 7);
  assert.equal(r.backend, 'wasm');
  assert.match(r.backendNote ?? '', /No WebGPU adapter/);
  assert.equal(r.tokens.length, 400);
  assert.equal(r.truncated, true);
  assert.equal(r.windows, 2);
  assert.ok(r.analysed.end < long.length);
  assert.equal(r.summaries[0].attends.length, 1); // the first token of a causal model sees only itself
  assert.equal(r.summaries[10].attends.length, 11); // at least SUMMARY_MIN_K, and token 10 sees 11 tokens
  const text = await p.locator('.notices').innerText();
  assert.match(text, /No WebGPU adapter/);
  assert.match(text, /Only the first 400 tokens were analysed/);
  assert.match(text, /2 windows/);
  assert.match(await p.locator('.run-header').innerText(), /WebAssembly/);
  await p.screenshot({ path: path.join(shots, 'panel-wasm-fallback.png') });
  await p.context().close();
});

test('the panel: a WebGPU device lost in the middle of a run asks the host for a fresh page, which runs on WebAssembly and says why', async () => {
  // After the flag is set, the device is destroyed right after the next submit: mid-run.
  const page = await panel({ backend: 'webgpu' }, [watchGpuDevices], { width: 1000, height: 700 });
  const settings = { backend: 'webgpu', maxTokens: 1024, topK: 5 } as const;
  await sendToWebview(page, analyseRequest(1, 'x = 1', settings, 'a.py'));
  assert.equal((await waitForMessage(page, 'result', 1)).backend, 'webgpu');
  await page.evaluate(loseGpuAtNextSubmit);
  await sendToWebview(page, analyseRequest(2, CODE, settings, 'fib.js'));
  const restart = await waitForMessage(page, 'restart', 2);
  assert.match(restart.reason, /^the WebGPU device was lost during a run \(Device was destroyed\)$/);
  assert.match(
    await page.locator('.notices').innerText(),
    /The WebGPU device was lost during a run \(Device was destroyed\): restarting the panel on WebAssembly/,
  );
  await page.context().close();

  // The page the host loads instead: WebAssembly, the reason shown with the result.
  const fresh = await panel({ backend: 'wasm', notice: `Restarted the panel on WebAssembly: ${restart.reason}.` });
  await sendToWebview(fresh, analyseRequest(2, CODE, { ...settings, backend: 'wasm' }, 'fib.js'));
  const r = await waitForMessage(fresh, 'result', 2);
  assert.equal(r.backend, 'wasm');
  assert.match(r.backendNote ?? '', /^Restarted the panel on WebAssembly: the WebGPU device was lost during a run/);
  assert.match(
    await fresh.locator('.notices').innerText(),
    /Restarted the panel on WebAssembly: the WebGPU device was lost during a run/,
  );
  await fresh.screenshot({ path: path.join(shots, 'panel-restarted-after-device-loss.png') });
  // The reason belongs to that result only.
  await sendToWebview(fresh, analyseRequest(3, 'y = 2', { ...settings, backend: 'wasm' }, 'b.py'));
  assert.equal((await waitForMessage(fresh, 'result', 3)).backendNote, null);
  // The model was fetched once for the page, not once per analysis.
  assert.equal(requests.get(fresh)?.filter((u) => u.endsWith('/model.onnx')).length, 1);
  await fresh.context().close();
});

test('the panel: a truncated model file gives a clear error and the page keeps answering', async () => {
  const page = await panel({ modelUrl: `${server.url}/bad/truncated.onnx` });
  await sendToWebview(page, analyseRequest(3, 'x = 1', { backend: 'wasm', maxTokens: 1024, topK: 5 }, 'a.py'));
  const err = await waitForMessage(page, 'error', 3);
  assert.match(err.message, /not a valid ONNX model|truncated/);
  assert.match(await page.locator('.notice.error').innerText(), /Could not analyse the selection: .*ONNX/);
  await page.screenshot({ path: path.join(shots, 'panel-bad-model.png') });
  // Still answers: an empty selection gets its own message.
  await sendToWebview(page, analyseRequest(4, '', { backend: 'wasm', maxTokens: 1024, topK: 5 }, 'a.py'));
  const err2 = await waitForMessage(page, 'error', 4);
  assert.ok(err2.message.length > 0);
  await page.context().close();
});
