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

e2e('after a window reload the panel is restored and runs its last request again; the hover works again', async () => {
  await analyseFibonacciWithBundledModel();
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForSelector('.monaco-workbench .explorer-folders-view', { timeout: 90_000 });
  // The serializer brings the panel back; its page re-runs the saved request by itself.
  const header = await waitForRun(/^code-prose-gpt · /);
  assert.match(header, / \d+ tokens/);
  // The restored panel took the runtime and the prepared graph from its own cache: no surgery, no model bytes.
  const marks = await panelMarks();
  assert.ok(marks['prepared graph from the cache'] && marks['runtime from the cache'], JSON.stringify(marks));
  assert.equal(marks.surgery, undefined);
  await shot('14-restored-after-reload');
  await page.locator('.tabs-container .tab', { hasText: 'fibonacci.py' }).first().click();
  const returns = page.locator('.editor-instance .view-line span span', { hasText: /^\s*return$/ });
  await returns.first().hover();
  await page.locator('.monaco-hover:visible', { hasText: 'Attends to' }).waitFor({ timeout: 15_000 });
  await page.keyboard.press('Escape');
});

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
