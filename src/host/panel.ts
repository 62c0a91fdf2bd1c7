import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { BackendSetting, HostToWebview, PageFile, WebviewToHost } from '../common/protocol';
import type { PageSources, WebviewConfig } from '../common/webview-config';
import type { ModelFiles } from './model-source';
import { contentHash } from './content-hash';
import { disposeAll } from './dispose-all';
import type { FileShare, LocalFileServer } from './local-file-server';
import { makeNonce, webviewHtml } from './webview-html';
import { receiveFromWebview, type InboxLog } from './webview-inbox';

export const PANEL_VIEW_TYPE = 'attentionExplorer.panel';

/** onnxruntime-web's two WebAssembly builds, as the page asks for them: plain, and WebGPU (JSEP). */
/** How long a model change waits for the old page to keep its result in the cache before replacing it. */
const KEEP_WAIT_MS = 2000;

const RUNTIME_FILES = {
  'runtime:wasm': 'ort-wasm-simd-threaded.wasm',
  'runtime:webgpu': 'ort-wasm-simd-threaded.jsep.wasm',
} as const;

/** What a panel needs of the extension: its folder, where its messages go, a log. */
export interface PanelDeps {
  extensionUri: vscode.Uri;
  /** The server on 127.0.0.1 that gives the page its large files (null: none could start). */
  fileServer: () => Promise<LocalFileServer | null>;
  /** Every validated message but the ones the panel answers itself (`readFile`). */
  onMessage: (m: WebviewToHost) => void;
  log: InboxLog;
  /** The user closed the panel. */
  onDispose: () => void;
}

/**
 * The webview panel's lifecycle: one panel, reused; its page, with local resources limited to
 * the extension's own folders; messages in (validated) and out (queued until the page is ready).
 */
export class AttentionPanel implements vscode.Disposable {
  private ready = false;
  private queue: HostToWebview[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private model: ModelFiles;

  private readonly extensionUri: vscode.Uri;
  private readonly fileServer: () => Promise<LocalFileServer | null>;
  /** The current page's share of the local server (revoked with the page). */
  private share?: FileShare;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    deps: PanelDeps,
    model: ModelFiles,
    backend: BackendSetting,
  ) {
    const { extensionUri, onMessage, log, onDispose } = deps;
    this.extensionUri = extensionUri;
    this.fileServer = deps.fileServer;
    this.model = model;
    this.load(model, backend);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    const webview = panel.webview;
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) =>
        receiveFromWebview(
          raw,
          (m) => {
            if (m.type === 'ready') this.flush();
            if (m.type === 'readFile') void this.sendFile(m.file);
            else if (m.type === 'resultKept') this.onKept?.();
            else onMessage(m);
          },
          log,
        ),
      ),
      panel.onDidDispose(() => {
        this.dispose();
        onDispose();
      }),
    );
  }

  static webviewOptions(extensionUri: vscode.Uri, model?: ModelFiles): vscode.WebviewOptions {
    return {
      enableScripts: true,
      // The extension's own folders (the page, the runtime, the bundled model) and the chosen
      // model's folders, nothing else.
      localResourceRoots: [
        vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
        vscode.Uri.joinPath(extensionUri, 'media'),
        ...(model?.roots ?? []).map((r) => vscode.Uri.file(r)),
      ],
    };
  }

  /** Set by Manage Model Cache: the next page empties the panel's cache before it loads. */
  static clearCacheOnNextLoad = false;
  private loads = 0;

  /**
   * (Re)loads the page for a model: a new model means a new page, with its own session. The
   * page is written once the model file's hash is known (its prepared graph is cached under it).
   */
  load(model: ModelFiles, backend: BackendSetting, notice: string | null = null): void {
    // (A page that empties the panel's cache would drop the kept result at once: none is kept for it.)
    const kept = AttentionPanel.clearCacheOnNextLoad ? Promise.resolve() : this.keepResult();
    this.ready = false;
    this.model = model;
    const load = ++this.loads;
    void Promise.all([contentHash(model.graph).catch(() => null), this.fileServer(), kept]).then(([hash, server]) => {
      if (load === this.loads) this.writePage(model, backend, notice, hash, server);
    });
  }

  /** Called when the page says it kept its result (the answer to `keepResult`). */
  private onKept?: () => void;

  /**
   * Asks the page about to be replaced to keep its result for the next page's Compare tab, and
   * waits until it has, or for KEEP_WAIT_MS at most (a page busy or stuck does not hold the load up).
   * The page keeps it only now, so that no run pays for it.
   */
  private keepResult(): Promise<void> {
    if (!this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.onKept = undefined;
        resolve();
      };
      const timer = setTimeout(done, KEEP_WAIT_MS);
      this.onKept = done;
      void this.panel.webview.postMessage({ type: 'keepResult' } satisfies HostToWebview);
    });
  }

  private writePage(
    model: ModelFiles,
    backend: BackendSetting,
    notice: string | null,
    modelHash: string | null,
    server: LocalFileServer | null,
  ): void {
    const webview = this.panel.webview;
    const runtimeKey = Object.values(RUNTIME_FILES)
      .map((f) => {
        const st = fs.statSync(this.ortPath(f));
        return `${st.size}-${Math.round(st.mtimeMs)}`;
      })
      .join('_');
    const clearCache = AttentionPanel.clearCacheOnNextLoad;
    AttentionPanel.clearCacheOnNextLoad = false;
    webview.options = AttentionPanel.webviewOptions(this.extensionUri, model);
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const sources = (uri: (p: string) => string | null): PageSources | null => {
      const [modelUrl, tokenizerUrl, engine] = [uri(model.graph), uri(model.tokenizer), uri(dist.fsPath)];
      if (!modelUrl || !tokenizerUrl || !engine) return null;
      return {
        modelUrl,
        tokenizerUrl,
        configUrl: model.config ? uri(model.config) : null,
        tokenizerConfigUrl: model.tokenizerConfig ? uri(model.tokenizerConfig) : null,
        engineBase: `${engine}/`,
      };
    };
    this.share?.revoke();
    this.share = server?.share([dist.fsPath, ...model.roots]);
    const share = this.share;
    const viaVsCode = sources((p) => webview.asWebviewUri(vscode.Uri.file(p)).toString());
    if (!viaVsCode) throw new Error('unreachable: every path has a webview URI');
    const config: WebviewConfig = {
      modelName: model.name,
      ...viaVsCode,
      direct: share ? sources((p) => share.urlOf(p)) : null,
      bytesFrom: 'host',
      modelBytes: fs.statSync(model.graph).size,
      modelHash,
      runtimeKey,
      clearCache,
      backend,
      notice,
    };
    webview.html = webviewHtml(
      {
        script: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'main.js')).toString(),
        style: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'style.css')).toString(),
        cspSource: webview.cspSource,
      },
      config,
      makeNonce(),
    );
  }

  static create(deps: PanelDeps, model: ModelFiles, backend: BackendSetting): AttentionPanel {
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      'Attention Explorer',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // Kept alive when hidden: the inference session takes seconds to create.
      { ...AttentionPanel.webviewOptions(deps.extensionUri, model), retainContextWhenHidden: true },
    );
    return new AttentionPanel(panel, deps, model, backend);
  }

  /** Takes up a panel VS Code restored after a window reload. */
  static revive(
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
    model: ModelFiles,
    backend: BackendSetting,
  ): AttentionPanel {
    return new AttentionPanel(panel, deps, model, backend);
  }

  post(m: HostToWebview): void {
    if (!this.ready) {
      // Only the latest analyze request matters; other messages keep their order.
      if (m.type === 'analyse') this.queue = this.queue.filter((q) => q.type !== 'analyse');
      this.queue.push(m);
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private flush(): void {
    this.ready = true;
    const q = this.queue;
    this.queue = [];
    for (const m of q) void this.panel.webview.postMessage(m);
  }

  /**
   * Reads a file the page asked for and posts its bytes (transferred as binary, not JSON). In
   * code-server this was measured faster than the page fetching the same file through the
   * webview's resource loader (README, Performance).
   */
  private async sendFile(file: PageFile): Promise<void> {
    const where = file === 'model' ? this.model.graph : this.ortPath(RUNTIME_FILES[file]);
    try {
      const b = await fs.promises.readFile(where);
      // Posted as binary (VS Code transfers typed arrays without JSON), answering the page's own request.
      void this.panel.webview.postMessage({
        type: 'file',
        file,
        data: new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
      } satisfies HostToWebview);
    } catch (e) {
      void this.panel.webview.postMessage({
        type: 'fileError',
        file,
        message: (e as Error).message,
      } satisfies HostToWebview);
    }
  }

  private ortPath(name: string): string {
    return vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'ort', name).fsPath;
  }

  reveal(): void {
    this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    this.share?.revoke();
    disposeAll(this.disposables);
  }
}
