import type { AnalyseRequest } from '../src/common/protocol';
import { EngineStoppedError } from './engine-worker-start';
import { notice } from './panel-layout';

/** Out of memory, or the worker gone: a smaller maxTokens may fit. */
const looksLikeMemory = (e: Error): boolean =>
  e instanceof EngineStoppedError || /memory|allocat|out of bounds|abort/i.test(e.message);

/**
 * The error shown above the previous result when a request fails; when memory may be the cause,
 * with a button that runs the request again on half as many tokens.
 */
export function failureNotice(m: AnalyseRequest, e: Error, retry: (smaller: AnalyseRequest) => void): HTMLElement {
  const message = e.message || String(e);
  const n = notice('error', `Could not analyse the selection: ${message}`);
  const smaller = Math.max(1, Math.floor(m.settings.maxTokens / 2));
  if (looksLikeMemory(e) && m.settings.maxTokens > 1) {
    const button = document.createElement('vscode-button');
    button.className = 'retry';
    button.textContent = `Retry with at most ${smaller} tokens`;
    button.addEventListener('click', () => {
      n.remove();
      retry({ ...m, settings: { ...m.settings, maxTokens: smaller } });
    });
    n.append(' ', button);
  }
  return n;
}
