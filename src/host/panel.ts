import * as vscode from 'vscode';
import type { BackendSetting, HostToWebview, WebviewConfig, WebviewToHost } from '../common/protocol';
import { makeNonce, webviewHtml } from './webview-html';
import { receiveFromWebview, type InboxLog } from './webview-inbox';

export const PANEL_VIEW_TYPE = 'attentionExplorer.panel';

/**
 * The webview panel's lifecycle: one panel, reused; its page, with local resources limited to
 * the extension's own folders; messages in (validated) and out (queued until the page is ready).
 */
export class AttentionPanel implements vscode.Disposable {
  private ready = false;
  private queue: HostToWebview[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    backend: BackendSetting,
    private readonly onMessage: (m: WebviewToHost) => void,
    private readonly log: InboxLog,
    onDispose: () => void,
  ) {
    const webview = panel.webview;
    webview.options = AttentionPanel.webviewOptions(extensionUri);
    const model = vscode.Uri.joinPath(extensionUri, 'media', 'model');
    const config: WebviewConfig = {
      modelName: 'code-prose-gpt',
      modelUrl: webview.asWebviewUri(vscode.Uri.joinPath(model, 'model.onnx')).toString(),
      tokenizerUrl: webview.asWebviewUri(vscode.Uri.joinPath(model, 'tokenizer.json')).toString(),
      configUrl: webview.asWebviewUri(vscode.Uri.joinPath(model, 'config.json')).toString(),
      ortBase: `${webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'ort')).toString()}/`,
      backend,
    };
    const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    webview.html = webviewHtml(
      {
        script: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'main.js')).toString(),
        style: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'style.css')).toString(),
        cspSource: webview.cspSource,
      },
      config,
      makeNonce(),
    );
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) =>
        receiveFromWebview(
          raw,
          (m) => {
            if (m.type === 'ready') this.flush();
            this.onMessage(m);
          },
          this.log,
        ),
      ),
      panel.onDidDispose(() => {
        this.dispose();
        onDispose();
      }),
    );
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return {
      enableScripts: true,
      // Only the extension's own folders: the page, the runtime and the bundled model.
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  static create(extensionUri: vscode.Uri, backend: BackendSetting, onMessage: (m: WebviewToHost) => void, log: InboxLog, onDispose: () => void): AttentionPanel {
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      'Attention Explorer',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // Kept alive when hidden: the inference session takes seconds to create.
      { ...AttentionPanel.webviewOptions(extensionUri), retainContextWhenHidden: true },
    );
    return new AttentionPanel(panel, extensionUri, backend, onMessage, log, onDispose);
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, backend: BackendSetting, onMessage: (m: WebviewToHost) => void, log: InboxLog, onDispose: () => void): AttentionPanel {
    return new AttentionPanel(panel, extensionUri, backend, onMessage, log, onDispose);
  }

  post(m: HostToWebview): void {
    if (!this.ready) {
      // Only the latest analyze request matters; other messages keep their order.
      if (m.type === 'analyze') this.queue = this.queue.filter((q) => q.type !== 'analyze');
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

  reveal(): void {
    this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
