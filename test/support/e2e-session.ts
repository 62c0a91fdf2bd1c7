/**
 * What the end-to-end tests share: one VS Code (code-server, the packaged .vsix) per test file,
 * the page and the panel's frame, and the user's actions (open a file, run a command, choose a
 * model, export) as helpers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import {
  codeServerAvailable,
  openFile as openSupportFile,
  runCommand,
  startCodeServer,
  webviewFrame,
  type CodeServer,
} from './code-server';
import { fakeHub } from './fake-hub';
import { watchGpuDevices } from './gpu-loss';
import { ROOT, outputDir } from './paths';

export { runCommand };

const SAMPLE = `def fibonacci(n):
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)

print(fibonacci(10))
`;
const BIG_LINE = 'const total = items.reduce((sum, item) => sum + item.price * item.count, 0); // naïve 😀\n';
const BIG = BIG_LINE.repeat(Math.ceil((2 * 1024 * 1024) / BIG_LINE.length));
const FOX = 'The quick brown fox jumps over the lazy dog.\n'.repeat(8);
/** Code and prose with accents (composed and combining), CJK, emoji and a tab: where tokenizers' offsets go wrong. */
export const MIXED = 'def café(naïve):\n\treturn "東京 🙂 e\u0301t\u00e9"  # Ångström\n';
const BINARY =
  'ELF\u0001\u0002\u0003\u0004\u001b[0m\u007f\u0005\u0006\u00ff\u00fe\u0010\u0011 header \u0012\u0013\u0014\u0015'.repeat(
    8,
  );

const missing = codeServerAvailable();
const shots = outputDir('e2e');
export let server: CodeServer;
export let hub: Awaited<ReturnType<typeof fakeHub>>;
let browser: Browser;
export let page: Page;
export let panel: FrameLocator;

export const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(shots, `${name}.png`) });

/** A test in the running VS Code; on failure it keeps a screenshot and what the panel said. */
export function e2e(name: string, fn: () => Promise<void>): void {
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

/**
 * Starts the session a test file's tests share: a stand-in Hub, code-server with the packaged
 * extension and a workspace of sample files, and Chromium on it. Each e2e file calls it once and
 * runs in its own process, so a failure in one file leaves the others' VS Code untouched.
 */
export function e2eSession(): void {
  before(async () => {
    if (missing) return;
    // A stand-in for the Hugging Face Hub on 127.0.0.1, serving a copy of the bundled model.
    const bundled = path.join(ROOT, 'media', 'model');
    hub = await fakeHub({
      'test-org/tiny-gpt/onnx/model.onnx': { content: fs.readFileSync(path.join(bundled, 'model.onnx')), lfs: true },
      'test-org/tiny-gpt/tokenizer.json': {
        content: fs.readFileSync(path.join(bundled, 'tokenizer.json')),
        lfs: false,
      },
      'test-org/tiny-gpt/config.json': { content: fs.readFileSync(path.join(bundled, 'config.json')), lfs: false },
      // The same graph under a 4-bit variant's name: Choose Model offers both, with sizes.
      'test-org/tiny-gpt/onnx/model_q4.onnx': { content: fs.readFileSync(path.join(bundled, 'model.onnx')), lfs: true },
      // A model whose config.json declares a shape no panel can hold: refused before any download.
      'test-org/huge-llm/onnx/model.onnx': { content: fs.readFileSync(path.join(bundled, 'model.onnx')), lfs: true },
      'test-org/huge-llm/tokenizer.json': {
        content: fs.readFileSync(path.join(bundled, 'tokenizer.json')),
        lfs: false,
      },
      'test-org/huge-llm/config.json': {
        content: Buffer.from('{"num_hidden_layers":200,"num_attention_heads":64,"max_position_embeddings":32768}'),
        lfs: false,
      },
    });
    server = await startCodeServer(
      path.join(os.tmpdir(), `attention-explorer-e2e-${process.pid}`),
      {
        'fibonacci.py': SAMPLE,
        'empty.txt': '',
        'big.ts': BIG,
        'binary.txt': BINARY,
        'fox.txt': FOX,
        'mixed.py': MIXED,
      },
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
}

export const openFile = (name: string): Promise<void> => openSupportFile(page, name);

/** Waits for the panel to show a finished run for `tokens` tokens (or any count). */
export async function waitForRun(expect: RegExp = / ms · \d+ tokens/): Promise<string> {
  const header = panel.locator('.run-header');
  await header.filter({ hasText: expect }).waitFor({ timeout: 120_000 });
  return header.innerText();
}

/** The attention's shading colour in a dark theme, and the surprisal's. */
export const SHADE_RGB = { attention: '55, 148, 255', surprisal: '240, 140, 40' } as const;

/** The editor's spans of our shading (the attention's colour unless told), with their opacities. */
export async function shadedSpans(rgb: string = SHADE_RGB.attention): Promise<number[]> {
  return page.evaluate(
    (rgb) =>
      Array.from(document.querySelectorAll('.editor-instance .monaco-editor .view-overlays .cdr'))
        .map((e) => getComputedStyle(e).backgroundColor)
        .filter((c) => c.startsWith(`rgba(${rgb}`))
        .map((c) => parseFloat(c.split(',')[3])),
    rgb,
  );
}

/** Export Attention… → a format → the save dialog (VS Code's own, in code-server) given `file`. */
export async function exportAs(format: 'PNG image' | 'SVG image' | 'JSON' | 'CSV', file: string): Promise<void> {
  await runCommand(page, 'Attention Explorer: Export Attention…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: format }).first().click();
  await acceptInFileDialog(file);
}

/**
 * VS Code's own file dialog (code-server has no native one): the path typed, then its OK button.
 * Enter would race the dialog's listing of what was typed, and under
 * load open the folder instead of choosing it.
 */
export async function acceptInFileDialog(value: string, openLabel?: string): Promise<void> {
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

export async function waitForFile(file: string): Promise<Buffer> {
  // The extension host's write makes the file before it fills it (a test once read an empty SVG):
  // it is taken once it has bytes and its size has stayed the same for one more poll.
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const size = fs.existsSync(file) ? fs.statSync(file).size : -1;
    if (size > 0 && size === last) break;
    last = size;
    await page.waitForTimeout(100);
  }
  assert.ok(fs.existsSync(file), `${file} was not written`);
  return fs.readFileSync(file);
}

/** Opens fibonacci.py, selects it all and analyses it with the bundled model. */
export async function analyseFibonacciWithBundledModel(): Promise<void> {
  await openFile('fibonacci.py');
  await page.keyboard.press('Control+A');
  await runCommand(page, 'Attention Explorer: Show Attention for Selection');
  await waitForRun(/^code-prose-gpt · /);
  // (The header may still be the last run's, of another text: the tokens say which text it is.)
  await panel.locator('.token-strip', { hasText: 'fibonacci' }).waitFor({ timeout: 60_000 });
}

/** Choose Model → the bundled code-prose-gpt, and wait for the panel's run with it. */
export async function chooseBundledModel(): Promise<void> {
  await runCommand(page, 'Attention Explorer: Choose Model…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'code-prose-gpt' }).first().click();
  await waitForRun(/^code-prose-gpt · /);
}

/** Choose Model → Hugging Face model id…, then the id typed into the input box. */
export async function chooseHubId(id: string): Promise<void> {
  await runCommand(page, 'Attention Explorer: Choose Model…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Hugging Face model id' }).click();
  await page.locator('.quick-input-widget input').fill(id);
  await page.keyboard.press('Enter');
}

/** Choose Model → Open ONNX file or folder…, then the folder typed into VS Code's file dialog. */
export async function chooseFolder(folder: string): Promise<void> {
  await runCommand(page, 'Attention Explorer: Choose Model…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open ONNX file or folder' }).click();
  await acceptInFileDialog(`${folder}/`, 'Use this model');
}

/** What the panel's page has recorded (webview/timeline.ts): when it started, and its stages by name. */
export async function panelTimeline(): Promise<{ origin: number; marks: Record<string, number> }> {
  const t = JSON.parse((await panel.locator('body').getAttribute('data-timeline', { timeout: 5000 })) ?? '{}') as {
    origin?: number;
    marks?: Record<string, number>;
  };
  return { origin: t.origin ?? 0, marks: t.marks ?? {} };
}
export const panelMarks = async (): Promise<Record<string, number>> => (await panelTimeline()).marks;

/** Opens the Settings editor, searches for attentionExplorer.`name`, and waits for its item (shown as `title`). */
async function settingItem(name: string, title: string): Promise<Locator> {
  await runCommand(page, 'Preferences: Open User Settings');
  await page.locator('.settings-editor .settings-header').waitFor();
  // The search box is an editor of its own: clicked first, since the focus may not have reached it yet.
  await page.locator('.settings-editor .settings-header .monaco-editor').first().click();
  await page.keyboard.insertText(`attentionExplorer.${name}`);
  const item = page.locator('.settings-editor .setting-item', { hasText: `Attention Explorer: ${title}` }).first();
  await item.waitFor();
  return item;
}

/** Sets attentionExplorer.backend in VS Code's Settings editor, as a user does. */
export async function setBackend(value: 'auto' | 'webgpu' | 'wasm'): Promise<void> {
  const item = await settingItem('backend', 'Backend');
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
  await settingWritten('backend', value, 'auto');
}

/**
 * The Settings editor writes the file a moment later (closing it first can drop the write), then
 * VS Code tells the extension host: waits for the file to say `value`, closes the editor, then a moment more.
 */
async function settingWritten(name: string, value: unknown, byDefault: unknown): Promise<void> {
  const file = path.join(path.dirname(server.workspace), 'user-data', 'User', 'settings.json');
  const written = (): boolean => {
    try {
      const v = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)[`attentionExplorer.${name}`];
      return (v ?? byDefault) === value;
    } catch {
      return false; // being written
    }
  };
  for (let i = 0; !written(); i++) {
    if (i > 100) throw new Error(`settings.json does not say attentionExplorer.${name} = ${String(value)}`);
    await page.waitForTimeout(100);
  }
  await page.keyboard.press('Escape');
  await page.waitForTimeout(1000);
}

/** Turns attentionExplorer.predictions on or off through the Settings editor, as a user would. */
export async function setPredictions(on: boolean): Promise<void> {
  const item = await settingItem('predictions', 'Predictions');
  const box = item.locator('.setting-value-checkbox').first();
  if ((await box.getAttribute('aria-checked')) !== String(on)) await box.click();
  await settingWritten('predictions', on, false);
}
