import type { WebviewConfig } from '../common/webview-config';

export interface WebviewPageUris {
  script: string;
  style: string;
  /** The webview's resource origin (Webview.cspSource). */
  cspSource: string;
}

const escapeJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * The panel's page: a strict CSP (scripts only with the nonce or from the extension's own
 * folders, 'wasm-unsafe-eval' for WebAssembly, no remote loads; fetches from the webview's
 * resources and the host's local server only), the configuration as inert JSON.
 * Kept free of `vscode` so the engine tests serve the very same page from 127.0.0.1.
 */
export function webviewHtml(uris: WebviewPageUris, config: WebviewConfig, nonce: string): string {
  const csp = [
    "default-src 'none'",
    `img-src ${uris.cspSource} data: blob:`,
    `style-src ${uris.cspSource} 'unsafe-inline'`,
    `font-src ${uris.cspSource}`,
    `script-src 'nonce-${nonce}' ${uris.cspSource} 'wasm-unsafe-eval'`,
    `connect-src ${[uris.cspSource, ...(config.direct ? [new URL(config.direct.engineBase).origin] : [])].join(' ')}`,
    `worker-src ${uris.cspSource} blob:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uris.style}">
<title>Attention Explorer</title>
</head>
<body>
<div id="app"></div>
<script type="application/json" id="attention-explorer-config">${escapeJson(config)}</script>
<script type="module" nonce="${nonce}" src="${uris.script}"></script>
</body>
</html>`;
}

export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
