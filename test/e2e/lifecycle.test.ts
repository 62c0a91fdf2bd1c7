// The panel's life: closed mid-load, restored after a reload, restarted after a lost GPU device.
import assert from 'node:assert/strict';
import {
  analyseFibonacciWithBundledModel,
  e2e,
  e2eSession,
  openFile,
  page,
  panel,
  panelMarks,
  runCommand,
  server,
  setBackend,
  shot,
  waitForRun,
} from '../support/e2e-session';
import { loseGpuAtNextSubmit } from '../support/gpu-loss';

e2eSession();

e2e(
  'the panel closed in the middle of its load: nothing is left running, and the next Show Attention works',
  async () => {
    const logBefore = server.extensionLog().length;
    await runCommand(page, 'View: Close All Editors');
    await page.locator('iframe.webview').waitFor({ state: 'detached' });
    await openFile('fibonacci.py');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    // The new panel is loading its model (its worker started): closed now.
    await panel.locator('.progress-text').waitFor();
    await runCommand(page, 'View: Close All Editors');
    await page.locator('iframe.webview').waitFor({ state: 'detached' });
    // The extension host hears of the closing after the frame is gone: the status bar follows within moments.
    await page
      .locator('.statusbar-item', { hasText: 'code-prose-gpt' })
      .first()
      .waitFor({ state: 'hidden', timeout: 10_000 })
      .catch(() => assert.fail('a run is still shown as going on in the status bar 10 s after the panel closed'));
    // The page, and the worker with it, are gone: no frame of the panel is left.
    assert.equal(page.frames().filter((f) => f.url().includes('webview')).length, 0);
    await analyseFibonacciWithBundledModel();
    assert.doesNotMatch(server.extensionLog().slice(logBefore), /\[(error|warning)\]/);
  },
);

e2e(
  'after a window reload the panel shows its last result from its cache at once, its engine loads behind it, and the hover and a new run work',
  async () => {
    await analyseFibonacciWithBundledModel();
    const before = await panel.locator('.token-strip').innerText();
    // The page keeps the result in its cache once it has been idle a moment after drawing it.
    await panel
      .locator('body')
      .evaluate(async (body) => {
        for (let i = 0; i < 100; i++) {
          const kept = await caches
            .open('attention-explorer-v1')
            .then((c) => c.match('https://attention-explorer.cache/restore/last'));
          if (kept) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`no result kept in the panel's cache: ${body.dataset.timeline ?? ''}`);
      })
      .catch((e: Error) => assert.fail(e.message));
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForSelector('.monaco-workbench .explorer-folders-view', { timeout: 90_000 });
    // The serializer brings the panel back; its page shows the kept result without running the text.
    const header = await waitForRun(/^code-prose-gpt · /);
    assert.match(header, / \d+ tokens/);
    assert.equal(await panel.locator('.token-strip').innerText(), before);
    let marks = await panelMarks();
    assert.ok(marks.restored, `not restored from the cache: ${JSON.stringify(marks)}`);
    assert.equal(marks.request, undefined, 'the restored page ran its request again');
    await shot('14-restored-after-reload');
    // Behind the shown result, the engine loads from the panel's cache (no surgery, no model bytes).
    for (let i = 0; i < 300 && !marks['engine ready']; i++) {
      await new Promise((r) => setTimeout(r, 200));
      marks = await panelMarks();
    }
    assert.ok(marks['prepared graph from the cache'] && marks['runtime from the cache'], JSON.stringify(marks));
    assert.equal(marks.surgery, undefined);
    assert.ok(marks.restored < marks.session, `the result waited for the session: ${JSON.stringify(marks)}`);
    // The host has the restored result: the editor's hover names what a token attends to.
    await page.locator('.tabs-container .tab', { hasText: 'fibonacci.py' }).first().click();
    const returns = page.locator('.editor-instance .view-line span span', { hasText: /^\s*return$/ });
    await returns.first().hover();
    await page.locator('.monaco-hover:visible', { hasText: 'Attends to' }).waitFor({ timeout: 15_000 });
    await page.keyboard.press('Escape');
    // And the next Show Attention runs on the engine that loaded behind it.
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    for (let i = 0; i < 300 && !(marks.result > marks.request); i++) {
      await new Promise((r) => setTimeout(r, 200));
      marks = await panelMarks();
    }
    assert.ok(marks.request > marks.restored && marks.result > marks.request, JSON.stringify(marks));
    assert.equal(await panel.locator('.token-strip').innerText(), before);
  },
);

e2e(
  'a WebGPU device lost in the middle of a run: the panel restarts on WebAssembly, shows the result and says why',
  async () => {
    await setBackend('webgpu');
    try {
      await openFile('fibonacci.py');
      await page.keyboard.press('Control+A');
      await runCommand(page, 'Attention Explorer: Show Attention for Selection');
      await waitForRun(/^code-prose-gpt · WebGPU · /);
      // The panel's engine worker holds the device its session runs on; it is lost during the next run.
      const frames = await Promise.all(
        page
          .frames()
          .map(async (f) =>
            (await f
              .evaluate(() => (window as unknown as { __engineWorkers?: number }).__engineWorkers ?? 0)
              .catch(() => 0)) > 0
              ? f
              : undefined,
          ),
      );
      const webview = frames.find(Boolean);
      assert.ok(webview, 'the panel started its engine worker');
      await webview.evaluate(loseGpuAtNextSubmit);
      await runCommand(page, 'Attention Explorer: Show Attention for Selection');
      await panel
        .locator('.notice', { hasText: 'Restarted the panel on WebAssembly: the WebGPU device was lost during a run' })
        .waitFor({ timeout: 120_000 });
      const header = await waitForRun(/^code-prose-gpt · WebAssembly · /);
      assert.match(header, / \d+ tokens/);
      await page.locator('.statusbar-item', { hasText: /code-prose-gpt · wasm · \d+ ms/ }).waitFor({ timeout: 10_000 });
      await shot('15-restarted-after-device-loss');
      assert.match(server.extensionLog(), /reloading it on WebAssembly/);
    } finally {
      await setBackend('auto');
    }
  },
);
