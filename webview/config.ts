import type { WebviewConfig } from '../src/common/webview-config';

export type { WebviewConfig };

export function readConfig(): WebviewConfig {
  const el = document.getElementById('attention-explorer-config');
  if (!el?.textContent) throw new Error('the page has no Attention Explorer configuration');
  return JSON.parse(el.textContent) as WebviewConfig;
}
