import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import {
  codeServerAvailable,
  openFile as openSupportFile,
  runCommand,
  startCodeServer,
  webviewFrame,
  type CodeServer,
} from '../support/code-server';
import { fakeHub } from '../support/fake-hub';
import { bertTokenizerJson } from '../support/tokenizers';
import { FIXTURES } from '../support/paths';
import { loseGpuAtNextSubmit, watchGpuDevices } from '../support/gpu-loss';
import { ROOT, outputDir } from '../support/paths';

const SAMPLE = `def fibonacci(n):
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)

print(fibonacci(10))
`;
const BIG_LINE = 'const total = items.reduce((sum, item) => sum + item.price * item.count, 0); // naïve 😀\n';
const BIG = BIG_LINE.repeat(Math.ceil((2 * 1024 * 1024) / BIG_LINE.length));
const FOX = 'The quick brown fox jumps over the lazy dog.\n'.repeat(8);
const BINARY =
  'ELF\u0001\u0002\u0003\u0004\u001b[0m\u007f\u0005\u0006\u00ff\u00fe\u0010\u0011 header \u0012\u0013\u0014\u0015'.repeat(
    8,
  );

const missing = codeServerAvailable();
const shots = outputDir('e2e');
let server: CodeServer;
let hub: Awaited<ReturnType<typeof fakeHub>>;
let browser: Browser;
let page: Page;
let panel: FrameLocator;

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(shots, `${name}.png`) });

/** A test in the running VS Code; on failure it keeps a screenshot and what the panel said. */
function e2e(name: string, fn: () => Promise<void>): void {
  test(name, { skip: missing }, async () => {
    try {
      await fn();
    } catch (e) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      await page.screenshot({ path: path.join(shots, `FAILED-${slug}.png`) }).catch(() => undefined);
      const said = await panel
        .locator('body')
        .innerText({ timeout: 2000 })
        .catch(() => '(no panel)');
      throw new Error(
        `${(e as Error).message}\n--- the panel showed:\n${said.slice(0, 1500)}\n--- the extension's log:\n${server.extensionLog().slice(-1500)}`,
        { cause: e },
      );
    }
  });
}

before(async () => {
  if (missing) return;
  // A stand-in for the Hugging Face Hub on 127.0.0.1, serving a copy of the bundled model.
  const bundled = path.join(ROOT, 'media', 'model');
  hub = await fakeHub({
    'test-org/tiny-gpt/onnx/model.onnx': { content: fs.readFileSync(path.join(bundled, 'model.onnx')), lfs: true },
    'test-org/tiny-gpt/tokenizer.json': { content: fs.readFileSync(path.join(bundled, 'tokenizer.json')), lfs: false },
    'test-org/tiny-gpt/config.json': { content: fs.readFileSync(path.join(bundled, 'config.json')), lfs: false },
  });
  server = await startCodeServer(
    path.join(os.tmpdir(), `attention-explorer-e2e-${process.pid}`),
    { 'fibonacci.py': SAMPLE, 'empty.txt': '', 'big.ts': BIG, 'binary.txt': BINARY, 'fox.txt': FOX },
    { 'attentionExplorer.hubEndpoint': hub.url },
  );
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  // Every frame, webviews included, can have its WebGPU device lost on request (the last test).
  await page.context().addInitScript(watchGpuDevices);
  await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}`);
  await page.waitForSelector('.monaco-workbench .explorer-folders-view', { timeout: 90_000 });
  panel = webviewFrame(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await hub?.close();
});

const openFile = (name: string): Promise<void> => openSupportFile(page, name);

/** Waits for the panel to show a finished run for `tokens` tokens (or any count). */
async function waitForRun(expect: RegExp = / ms · \d+ tokens/): Promise<string> {
  const header = panel.locator('.run-header');
  await header.filter({ hasText: expect }).waitFor({ timeout: 120_000 });
  return header.innerText();
}

/** The editor's spans of the attention decorations (our shading colour), with their opacities. */
async function shadedSpans(): Promise<number[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.editor-instance .monaco-editor .view-overlays .cdr'))
      .map((e) => getComputedStyle(e).backgroundColor)
      .filter((c) => c.startsWith('rgba(55, 148, 255'))
      .map((c) => Number(c.split(',')[3])),
  );
}

e2e(
  'Show Attention from the palette opens the panel with the bundled model, tokens and a drawn head view',
  async () => {
    await openFile('fibonacci.py');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    const header = await waitForRun();
    assert.match(header, /code-prose-gpt · (WebGPU|WebAssembly) · \d+ ms · \d+ tokens · 4 layers × 8 heads · causal/);
    const chips = await panel.locator('.token-strip .token').allInnerTexts();
    assert.deepEqual(chips.slice(0, 4), ['def', '·f', 'ib', 'on']);
    const painted = await panel.locator('.head-view canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(painted > 5000, `the head view painted ${painted} pixels`);
    // The status bar hears of the result through the extension host, a moment after the panel shows it.
    await page
      .locator('.statusbar-item', { hasText: /code-prose-gpt · (WebGPU|wasm) · \d+ ms/ })
      .waitFor({ timeout: 10_000 });
    await shot('01-panel-after-show-attention');
  },
);

e2e('hovering a token in the editor lists its top 5 attended and attending tokens', async () => {
  // Layer 3, head 7 is the model's strongest induction head; choose it from the palette.
  await runCommand(page, 'Attention Explorer: Select Layer…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Layer 3' }).first().click();
  await runCommand(page, 'Attention Explorer: Select Head…');
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: /^Head 7/ })
    .first()
    .click();
  await panel.locator('.details, .run-header').first().waitFor();
  assert.equal(await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value), '3');
  assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), '7');

  // The second "fibonacci(" call on line 4: hover its "return".
  const returns = page.locator('.editor-instance .view-line span span', { hasText: /^return$/ });
  await returns.nth(1).hover();
  const hover = page.locator('.monaco-hover:visible', { hasText: 'Attention Explorer' });
  await hover.waitFor({ timeout: 15_000 });
  const text = await hover.innerText();
  assert.match(text, /layer 3, head 7/);
  assert.match(text, /Attends to/);
  assert.match(text, /Attended by/);
  assert.match(text, /Reveal in panel/);
  const rows = await hover.locator('table').first().locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 5);
  for (const r of rows) assert.match(r, /\d+:\d+\s+0\.\d{3}/);
  await shot('02-editor-hover');
  // The hover's link reveals the token in the panel, pinned.
  const title = (await hover.locator('code').first().innerText()).trim();
  await hover.locator('a', { hasText: 'Reveal in panel' }).click();
  await panel.locator('.details-title', { hasText: /layer 3, head 7/ }).waitFor({ timeout: 10_000 });
  assert.ok((await panel.locator('.details-title').innerText()).includes(title), `the panel shows ${title}`);
  assert.equal(await panel.locator('.token-strip .token.pinned').count(), 1);
  await page.keyboard.press('Escape');
});

e2e(
  'Find Heads… ranks every head on the analysed text by what it does; the chosen head is shown in the panel',
  async () => {
    await runCommand(page, 'Attention Explorer: Find Heads…');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Previous token' }).first().click();
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await rows.first().waitFor();
    const first = await rows.first().innerText();
    const [, layer, head] = /Layer (\d+) · Head (\d+)/.exec(first) ?? [];
    assert.ok(layer !== undefined, first);
    assert.match(first, /previous token: 0\.\d{3}/);
    await shot('02b-find-heads');
    await rows.first().click();
    // The view reaches the panel through the extension host: wait for the pickers to show it.
    const shows = async (): Promise<string> =>
      `${await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value)}/` +
      `${await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value)}`;
    for (let i = 0; i < 50 && (await shows()) !== `${layer}/${head}`; i++) await page.waitForTimeout(100);
    assert.equal(await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value), layer);
    assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), head);
    // The panel's own head finder lists the same heads, and its Previous column sorts them the same.
    await panel.locator('vscode-tab-header', { hasText: 'Heads' }).click();
    await panel.locator('.head-table button.sort', { hasText: 'Previous' }).click();
    const top = await panel.locator('.head-table tbody tr').first().locator('td').first().innerText();
    assert.equal(top, `L${layer} · H${head}`);
    await shot('02c-head-finder-tab');
    await panel.locator('vscode-tab-header', { hasText: 'Head view' }).click();
  },
);

e2e(
  'Select Head… offers the attention rollout beside the mean and the max; the panel and the hover show it',
  async () => {
    await runCommand(page, 'Attention Explorer: Select Head…');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: /^Rollout/ })
      .first()
      .click();
    for (let i = 0; i < 50; i++) {
      if ((await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value)) === 'rollout') break;
      await page.waitForTimeout(100);
    }
    assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), 'rollout');
    await panel.locator('.token-strip .token').nth(10).click();
    await panel.locator('.details-title', { hasText: /rollout \(layers 0 to this one\)/ }).waitFor();
    await shot('02f-rollout');
    await panel.locator('.token-strip .token').nth(10).click(); // unpinned again
  },
);

/** Export Attention… → a format → the save dialog (VS Code's own, in code-server) given `file`. */
async function exportAs(format: 'PNG image' | 'SVG image' | 'JSON' | 'CSV', file: string): Promise<void> {
  await runCommand(page, 'Attention Explorer: Export Attention…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: format }).first().click();
  await acceptInFileDialog(file);
}

/**
 * VS Code's own file dialog (code-server has no native one): the path typed, then its OK button.
 * Enter would race the dialog's listing of what was typed, and under
 * load open the folder instead of choosing it.
 */
async function acceptInFileDialog(value: string, openLabel?: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await page.waitForTimeout(300);
  await input.fill(value);
  for (let i = 0; i < 50 && (await input.inputValue()) !== value; i++) await page.waitForTimeout(100);
  await page.waitForTimeout(300);
  // The open dialog labels its button with the command's label, the save dialog says OK.
  const ok = new RegExp(`^(OK${openLabel ? `|${openLabel}` : ''})$`);
  await page.locator('.quick-input-widget .monaco-button', { hasText: ok }).first().click();
}

async function waitForFile(file: string): Promise<Buffer> {
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await page.waitForTimeout(100);
  assert.ok(fs.existsSync(file), `${file} was not written`);
  return fs.readFileSync(file);
}

e2e(
  'Export Attention…: the view as PNG (opened in VS Code) and SVG, every head as JSON, one head as CSV; a folder that cannot be written is said plainly',
  async () => {
    const dir = server.workspace;
    const png = path.join(dir, 'fib-view.png');
    await exportAs('PNG image', png);
    const bytes = await waitForFile(png);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.ok(bytes.length > 5000, `${bytes.length} bytes`);
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'exported fib-view.png' });
    await toast.locator('.monaco-button', { hasText: 'Open' }).click();
    await page.locator('.tabs-container .tab', { hasText: 'fib-view.png' }).waitFor({ timeout: 15_000 });
    await page.waitForTimeout(1500); // the image preview is a webview of its own: let it paint
    await shot('02d-exported-png-opened');
    await runCommand(page, 'View: Close Editor');

    const svgFile = path.join(dir, 'fib-view.svg');
    await exportAs('SVG image', svgFile);
    const svgText = (await waitForFile(svgFile)).toString('utf8');
    assert.match(svgText, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svgText.includes('>def</text>') && svgText.includes('<path d="M'), 'the tokens and the lines');

    const json = path.join(dir, 'fib-attention.json');
    await exportAs('JSON', json);
    const out = JSON.parse((await waitForFile(json)).toString('utf8')) as {
      tokens: { text: string }[];
      layers: string[];
      attentions: number[][][][];
    };
    assert.equal(out.layers.length, 4);
    assert.equal(out.attentions[3].length, 8);
    const t = out.tokens.length;
    assert.equal(out.tokens[0].text, 'def');
    for (const row of out.attentions[3][7]) {
      assert.equal(row.length, t);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    }

    const csv = path.join(dir, 'fib-head.csv');
    await exportAs('CSV', csv);
    const lines = (await waitForFile(csv)).toString('utf8').trimEnd().split('\r\n');
    assert.equal(lines.length, t + 1);
    assert.match(lines[0], /^query \\ key,0:def,/);

    // /proc takes no new files, even from root: the export fails with the reason, and nothing else breaks.
    await exportAs('CSV', '/proc/attention.csv');
    await page
      .locator('.notifications-toasts', { hasText: /could not write attention\.csv into \/proc/ })
      .waitFor({ timeout: 15_000 });
    await shot('02e-export-refused');
    await waitForRun();
  },
);

e2e('the token under the cursor shades the tokens it attends to; Clear Attention removes it', async () => {
  const fib = page.locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ });
  await fib.nth(2).click();
  await page.waitForFunction(() => document.querySelectorAll('.editor-instance .view-overlays .cdr').length > 0);
  let shaded: number[] = [];
  for (let i = 0; i < 50 && shaded.length === 0; i++) {
    shaded = await shadedSpans();
    if (!shaded.length) await page.waitForTimeout(100);
  }
  assert.ok(shaded.length >= 1, 'some tokens are shaded');
  await shot('03-editor-shading');
  // The panel pins the same token when asked from the hover's link command.
  await runCommand(page, 'Attention Explorer: Clear Attention');
  await page.waitForTimeout(300);
  assert.deepEqual(await shadedSpans(), []);
});

e2e('editing the analysed text marks the result stale in the panel and the hover', async () => {
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('End');
  await page.keyboard.type('  # edited');
  await panel
    .locator('.notice.warning', { hasText: 'The text changed since this analysis' })
    .waitFor({ timeout: 10_000 });
  await page.locator('.statusbar-item', { hasText: /code-prose-gpt · .* · stale/ }).waitFor();
  await page
    .locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ })
    .first()
    .hover();
  await page
    .locator('.monaco-hover:visible', { hasText: 'The text changed since this analysis' })
    .waitFor({ timeout: 15_000 });
  await shot('04-stale');
  await page.keyboard.press('Escape');
});

e2e('an empty document gets a message, not a panel error', async () => {
  await openFile('empty.txt');
  await runCommand(page, 'Attention Explorer: Show Attention for Selection');
  await page.locator('.notifications-toasts', { hasText: 'the document is empty' }).waitFor({ timeout: 10_000 });
  await shot('05-empty-document');
  await page.keyboard.press('Escape');
});

e2e('a 2 MB selection is analysed up to maxTokens in windows, and the panel says so', async () => {
  await openFile('big.ts');
  await page.keyboard.press('Control+A');
  await runCommand(page, 'Attention Explorer: Show Attention for Selection');
  const header = await waitForRun(/ 1024 tokens/);
  assert.match(header, /1024 tokens/);
  await panel.locator('.notice', { hasText: 'Only the first 1024 tokens were analysed' }).waitFor();
  await panel.locator('.notice', { hasText: /analysed in \d+ windows/ }).waitFor();
  await shot('06-two-megabytes');
});

e2e('binary-looking text is analysed with its control characters made visible', async () => {
  await openFile('binary.txt');
  await page.keyboard.press('Control+A');
  // This time from the keybinding.
  await page.keyboard.press('Control+Alt+A');
  await waitForRun(/ ms · \d+ tokens/);
  await panel.locator('.token-strip .token', { hasText: '␁' }).first().waitFor();
  await shot('07-binary-text');
});

e2e(
  'a truncated model file gives a clear error in the panel; the extension keeps working once it is fixed',
  async () => {
    const extDir = fs
      .readdirSync(path.join(path.dirname(server.workspace), 'extensions'))
      .find((d) => d.startsWith('attention-explorer.'));
    assert.ok(extDir);
    const modelFile = path.join(path.dirname(server.workspace), 'extensions', extDir, 'media', 'model', 'model.onnx');
    const good = fs.readFileSync(modelFile);
    await runCommand(page, 'View: Close All Editors');
    fs.writeFileSync(modelFile, good.subarray(0, good.length >> 1));
    try {
      await openFile('fibonacci.py');
      await page.keyboard.press('Control+A');
      await runCommand(page, 'Attention Explorer: Show Attention for Selection');
      await panel
        .locator('.notice.error', { hasText: /not a valid ONNX model|truncated/ })
        .waitFor({ timeout: 60_000 });
      await page
        .locator('.notifications-toasts', { hasText: 'Attention Explorer' })
        .first()
        .waitFor({ timeout: 10_000 });
      await shot('08-truncated-model');
    } finally {
      fs.writeFileSync(modelFile, good);
    }
    // Fixed file, new panel: works again.
    await runCommand(page, 'View: Close All Editors');
    await openFile('fibonacci.py');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    await waitForRun();
    await shot('09-recovered');
  },
);

e2e(
  'Choose Model: a local folder in the Hub layout replaces the bundled model in the open panel; a folder without a tokenizer is refused',
  async () => {
    // A copy of the bundled model laid out as the Hub does: onnx/model.onnx, tokenizer.json and config.json above it.
    const dir = path.join(path.dirname(server.workspace), 'my-local-gpt');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    const bundled = path.join(ROOT, 'media', 'model');
    fs.copyFileSync(path.join(bundled, 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
    fs.copyFileSync(path.join(bundled, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    fs.copyFileSync(path.join(bundled, 'config.json'), path.join(dir, 'config.json'));
    const noTokenizer = path.join(path.dirname(server.workspace), 'no-tokenizer');
    fs.mkdirSync(noTokenizer, { recursive: true });
    fs.copyFileSync(path.join(bundled, 'model.onnx'), path.join(noTokenizer, 'model.onnx'));

    await analyseFibonacciWithBundledModel();

    await chooseFolder(dir);
    // The panel reloads for the new model (served from outside the extension) and runs the last request again.
    const header = await waitForRun(/^my-local-gpt · /);
    assert.match(header, /4 layers × 8 heads/);
    await page
      .locator('.statusbar-item', { hasText: /my-local-gpt · (WebGPU|wasm) · \d+ ms/ })
      .waitFor({ timeout: 10_000 });
    await shot('10-local-model');

    await chooseFolder(noTokenizer);
    await page
      .locator('.notifications-toasts', { hasText: /No tokenizer\.json next to model\.onnx/ })
      .waitFor({ timeout: 15_000 });
    assert.match(await panel.locator('.run-header').innerText(), /^my-local-gpt · /, 'the previous result stays');
    await shot('11-model-without-tokenizer');

    await chooseBundledModel();
  },
);

e2e(
  'an encoder (BERT) from a local folder: full attention, [CLS]/[SEP] marked, and every window given them again',
  async () => {
    // Hugging Face's BERT fixture with a small WordPiece vocabulary, and a 32-token context so that the
    // sentence runs in windows.
    const dir = path.join(path.dirname(server.workspace), 'tiny-bert');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'bert.onnx'), path.join(dir, 'onnx', 'model.onnx'));
    fs.writeFileSync(
      path.join(dir, 'tokenizer.json'),
      bertTokenizerJson(['quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', '.']),
    );
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ model_type: 'bert', max_position_embeddings: 32 }),
    );
    await analyseFibonacciWithBundledModel();
    await chooseFolder(dir);
    await waitForRun(/^tiny-bert · /);
    await openFile('fox.txt');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    const header = await waitForRun(/^tiny-bert · .* 82 tokens/);
    assert.match(header, /2 layers × 4 heads · full \(encoder\) attention/);
    const chips = panel.locator('.token-strip .token');
    assert.equal(await chips.first().innerText(), '[CLS]');
    assert.match((await chips.first().getAttribute('class')) ?? '', /special/);
    assert.equal(await chips.last().innerText(), '[SEP]');
    assert.equal(await chips.nth(1).innerText(), 'The');
    await panel
      .locator('.notice', {
        hasText:
          /analysed in 4 windows .* Every window begins with \[CLS\] and ends with \[SEP\], as the model expects/,
      })
      .waitFor();
    // Pinning [CLS] marks the tokens that attend to it: those of the last window too, which run
    // with their own copy of [CLS].
    await chips.first().click();
    const lastDog = chips.nth(79);
    assert.equal(await lastDog.innerText(), 'dog');
    assert.notEqual(
      await lastDog.evaluate((e: HTMLElement) => e.style.boxShadow),
      '',
      'the last window attends to [CLS]',
    );
    await shot('16-encoder-windows');
    await chooseBundledModel();
  },
);

/** Opens fibonacci.py, selects it all and analyses it with the bundled model. */
async function analyseFibonacciWithBundledModel(): Promise<void> {
  await openFile('fibonacci.py');
  await page.keyboard.press('Control+A');
  await runCommand(page, 'Attention Explorer: Show Attention for Selection');
  await waitForRun(/^code-prose-gpt · /);
}

/** Choose Model → the bundled code-prose-gpt, and wait for the panel's run with it. */
async function chooseBundledModel(): Promise<void> {
  await runCommand(page, 'Attention Explorer: Choose Model…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'code-prose-gpt' }).first().click();
  await waitForRun(/^code-prose-gpt · /);
}

/** Choose Model → Hugging Face model id…, then the id typed into the input box. */
async function chooseHubId(id: string): Promise<void> {
  await runCommand(page, 'Attention Explorer: Choose Model…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Hugging Face model id' }).click();
  await page.locator('.quick-input-widget input').fill(id);
  await page.keyboard.press('Enter');
}

/** Choose Model → Open ONNX file or folder…, then the folder typed into VS Code's file dialog. */
async function chooseFolder(folder: string): Promise<void> {
  await runCommand(page, 'Attention Explorer: Choose Model…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open ONNX file or folder' }).click();
  await acceptInFileDialog(`${folder}/`, 'Use this model');
}

e2e(
  'Choose Model from a Hugging Face model id: downloaded with progress, used, listed in Manage Model Cache and deleted there',
  async () => {
    await analyseFibonacciWithBundledModel();

    // An id that does not exist: a clear message, nothing lost.
    await chooseHubId('nobody/nothing');
    await page
      .locator('.notifications-toasts', {
        hasText: /nobody\/nothing was not found on http:\/\/127\.0\.0\.1:\d+ \(no such model id, or it is private\)/,
      })
      .waitFor({ timeout: 15_000 });
    assert.match(await panel.locator('.run-header').innerText(), /^code-prose-gpt · /);

    await chooseHubId('test-org/tiny-gpt');
    const header = await waitForRun(/^tiny-gpt · /);
    assert.match(header, /4 layers × 8 heads/);
    assert.ok(
      hub.requests.some((q) => q.url.startsWith('/storage/')),
      'the graph came through the LFS redirect',
    );
    await shot('12-hub-model');

    await runCommand(page, 'Attention Explorer: Manage Model Cache');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'test-org/tiny-gpt' });
    await row.waitFor();
    assert.match(await row.innerText(), /20\.\d MB/);
    await shot('13-model-cache');
    await row.click(); // toggles its checkbox
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
    await page.locator('.notifications-toasts', { hasText: 'deleted test-org/tiny-gpt' }).waitFor({ timeout: 15_000 });
    await waitForRun(/^code-prose-gpt · /);
  },
);

/** What the panel's page has recorded (webview/timeline.ts): when it started, and its stages by name. */
async function panelTimeline(): Promise<{ origin: number; marks: Record<string, number> }> {
  const t = JSON.parse((await panel.locator('body').getAttribute('data-timeline', { timeout: 5000 })) ?? '{}') as {
    origin?: number;
    marks?: Record<string, number>;
  };
  return { origin: t.origin ?? 0, marks: t.marks ?? {} };
}
const panelMarks = async (): Promise<Record<string, number>> => (await panelTimeline()).marks;

e2e(
  "Manage Model Cache empties the panel's own cache: the open panel reloads and prepares the graph from the model again",
  async () => {
    await analyseFibonacciWithBundledModel();
    const before = (await panelTimeline()).origin;
    await runCommand(page, 'Attention Explorer: Manage Model Cache');
    const row = page.locator('.quick-input-list .monaco-list-row', {
      hasText: 'Prepared graphs and runtime kept by the panel',
    });
    await row.waitFor();
    await row.click();
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
    // A new page: its graph comes from the model file and goes through surgery again.
    for (let i = 0; ; i++) {
      const t = await panelTimeline().catch(() => ({ origin: 0, marks: {} as Record<string, number> }));
      if (t.origin !== before && t.origin > 0 && t.marks.surgery && t.marks.result) break;
      if (i > 600) throw new Error(`the panel did not prepare the graph again: ${JSON.stringify(t)}`);
      await page.waitForTimeout(100);
    }
    assert.equal((await panelMarks())['prepared graph from the cache'], undefined);
    await waitForRun(/^code-prose-gpt · /);
    assert.match(server.extensionLog(), /the panel's cache of prepared graphs will be emptied/);
  },
);

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

/** Sets attentionExplorer.backend in VS Code's Settings editor, as a user does. */
async function setBackend(value: 'auto' | 'webgpu' | 'wasm'): Promise<void> {
  await runCommand(page, 'Preferences: Open User Settings');
  await page.locator('.settings-editor .settings-header').waitFor();
  // The search box is an editor of its own: clicked first, since the focus may not have reached it yet.
  await page.locator('.settings-editor .settings-header .monaco-editor').first().click();
  await page.keyboard.insertText('attentionExplorer.backend');
  const item = page.locator('.settings-editor .setting-item', { hasText: 'Attention Explorer: Backend' }).first();
  await item.waitFor();
  // VS Code draws its own drop-down for an enum: opened by a click, driven by the keyboard.
  const select = item.locator('select');
  await select.click();
  await page.locator('.monaco-select-box-dropdown-container .monaco-list-row', { hasText: value }).first().waitFor();
  const options = ['auto', 'webgpu', 'wasm']; // package.json's order
  for (let i = 0; i < options.length; i++) await page.keyboard.press('ArrowUp');
  for (let i = 0; i < options.indexOf(value); i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  for (let i = 0; (await select.inputValue()) !== value; i++) {
    if (i > 50)
      throw new Error(
        `the Settings editor shows attentionExplorer.backend = ${await select.inputValue()}, not ${value}`,
      );
    await page.waitForTimeout(100);
  }
  // The Settings editor writes the file a moment later (closing it first can drop the write), then
  // VS Code tells the extension host: wait for the file, then a moment more.
  const file = path.join(path.dirname(server.workspace), 'user-data', 'User', 'settings.json');
  const written = (): boolean => {
    try {
      const v = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)['attentionExplorer.backend'];
      return (v ?? 'auto') === value;
    } catch {
      return false; // being written
    }
  };
  for (let i = 0; !written(); i++) {
    if (i > 100) throw new Error(`settings.json does not say attentionExplorer.backend = ${value}`);
    await page.waitForTimeout(100);
  }
  await page.keyboard.press('Escape');
  await page.waitForTimeout(1000);
}

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
