import type { WebviewToHost } from '../common/protocol';
import { parseWebviewMessage } from '../common/protocol-validation';

export interface InboxLog {
  warn(message: string): void;
}

/**
 * Every message from the webview passes here: validated, and a malformed one is rejected and
 * logged without reaching any handler (a webview is untrusted input).
 */
export function receiveFromWebview(raw: unknown, handle: (m: WebviewToHost) => void, log: InboxLog): boolean {
  const parsed = parseWebviewMessage(raw);
  if (!parsed.ok) {
    let shown: string;
    try {
      shown = JSON.stringify(raw)?.slice(0, 200) ?? String(raw);
    } catch {
      shown = String(raw);
    }
    log.warn(`rejected a message from the webview: ${parsed.error}: ${shown}`);
    return false;
  }
  try {
    handle(parsed.message);
  } catch (e) {
    log.warn(`handling a "${parsed.message.type}" message from the webview failed: ${(e as Error).message}`);
    return false;
  }
  return true;
}
