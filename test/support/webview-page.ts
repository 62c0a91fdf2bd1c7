import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {
  AnalyseRequest,
  AnalyseSettings,
  BackendSetting,
  HostToWebview,
  WebviewToHost,
} from '../../src/common/protocol';
import type { WebviewConfig } from '../../src/common/webview-config';
import { webviewHtml } from '../../src/host/webview-html';

/** VS Code's Dark Modern colours, as a webview receives them, so the page looks as in VS Code. */
export const DARK_THEME_CSS = `:root {
  --vscode-foreground: #cccccc; --vscode-editor-foreground: #cccccc; --vscode-editor-background: #1f1f1f;
  --vscode-descriptionForeground: #9d9d9d; --vscode-focusBorder: #0078d4; --vscode-charts-blue: #3794ff;
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: 'DejaVu Sans Mono', monospace;
  --vscode-editor-font-size: 13px; --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8;
  --vscode-panel-border: #2b2b2b; --vscode-textLink-foreground: #4daafc; --vscode-errorForeground: #f85149;
  --vscode-editorWarning-foreground: #cca700; --vscode-textBlockQuote-background: #2b2b2b;
}`;

/** The panel's own page (the HTML the host generates), served from 127.0.0.1 with a stand-in for the VS Code API. */
export function panelPage(
  base: string,
  opts: {
    modelUrl?: string;
    /** Where the model's tokenizer.json and config.json are (the bundled model's folder by default). */
    folderUrl?: string;
    modelName?: string;
    backend?: BackendSetting;
    notice?: string;
    modelHash?: string;
    /** The local server's URLs (the host's in VS Code). */
    direct?: WebviewConfig['direct'];
  } = {},
): string {
  const folder = opts.folderUrl ?? `${base}/media/model`;
  const config: WebviewConfig = {
    modelName: opts.modelName ?? 'code-prose-gpt',
    modelUrl: opts.modelUrl ?? `${folder}/model.onnx`,
    tokenizerUrl: `${folder}/tokenizer.json`,
    configUrl: `${folder}/config.json`,
    tokenizerConfigUrl: null,
    bytesFrom: 'url',
    modelBytes: 0,
    modelHash: opts.modelHash ?? null,
    runtimeKey: 'test',
    clearCache: false,
    engineBase: `${base}/dist/webview/`,
    direct: opts.direct ?? null,
    backend: opts.backend ?? 'auto',
    notice: opts.notice ?? null,
  };
  const html = webviewHtml(
    { script: `${base}/dist/webview/main.js`, style: `${base}/dist/webview/style.css`, cspSource: base },
    config,
    'testnonce',
  );
  return html.replace('</head>', `<style>${DARK_THEME_CSS}</style></head>`);
}

/** Installs acquireVsCodeApi before the page's scripts: messages to the host are recorded. */
export async function installVsCodeStub(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __sent: unknown[]; __state: unknown; acquireVsCodeApi: () => unknown };
    w.__sent = [];
    w.__state = undefined;
    w.acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => w.__sent.push(m),
      getState: () => w.__state,
      setState: (s: unknown) => (w.__state = s),
    });
  });
}

/** A Show Attention request as the host sends it (settings: WebAssembly, 1,024 tokens, top 5, unless given). */
export function analyseRequest(
  requestId: number,
  text: string,
  settings: Partial<AnalyseSettings> = {},
  source = 'fib.js',
): AnalyseRequest {
  const all = { backend: 'wasm' as const, maxTokens: 1024, topK: 5, predictions: false, ...settings };
  return { type: 'analyse', requestId, text, source, origin: { uri: `file:///${source}`, offset: 0 }, settings: all };
}

export async function sendToWebview(page: Page, m: HostToWebview | Record<string, unknown>): Promise<void> {
  await page.evaluate((msg) => window.postMessage(msg, '*'), m);
}

export async function sentByWebview(page: Page): Promise<WebviewToHost[]> {
  return page.evaluate(() => (window as unknown as { __sent: WebviewToHost[] }).__sent);
}

export async function waitForMessage<T extends WebviewToHost['type']>(
  page: Page,
  type: T,
  requestId?: number,
  timeout = 120_000,
): Promise<Extract<WebviewToHost, { type: T }>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // Searched in the page: copying every message out on each poll (results are MBs) would keep
    // the page's main thread busy and distort what the tests and the benchmark measure.
    const found = await page.evaluate(
      ([t, id]) => {
        const sent = (window as unknown as { __sent: WebviewToHost[] }).__sent;
        const m = sent.find((x) => x.type === t && (id === null || !('requestId' in x) || x.requestId === id));
        const err = t === 'error' ? undefined : sent.find((x) => x.type === 'error');
        return { m, err };
      },
      [type, requestId ?? null] as const,
    );
    if (found.m) return found.m as Extract<WebviewToHost, { type: T }>;
    if (found.err) throw new Error(`webview error: ${JSON.stringify(found.err)}`);
    if (Date.now() > deadline) throw new Error(`no "${type}" message from the webview within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let pageCount = 0;

/**
 * Opens the panel's page in a new tab of `where`, served from `base`, with the VS Code API
 * stand-in and anything `initScripts` adds before the page's own scripts; resolves once the page
 * has said it is ready.
 */
export async function openPanelPage(
  where: Browser | BrowserContext,
  base: string,
  opts: Parameters<typeof panelPage>[1] = {},
  /** Functions, or script text (worker-prelude.ts). */
  initScripts: (string | (() => void))[] = [],
  viewport = { width: 1100, height: 1000 },
  /** Extra response headers for the page (COOP/COEP make it cross-origin isolated). */
  headers: Record<string, string> = {},
): Promise<Page> {
  const page = await where.newPage({ viewport });
  for (const script of initScripts) await page.addInitScript(script);
  await installVsCodeStub(page);
  const html = panelPage(base, opts);
  const name = `panel-${++pageCount}.html`;
  await page.route(`**/${name}`, (r) => r.fulfill({ body: html, contentType: 'text/html', headers }));
  await page.goto(`${base}/${name}`);
  await waitForMessage(page, 'ready');
  return page;
}
