import { inPageAndWorkers } from './worker-prelude';

/**
 * Runs before the page's scripts, in the page and in the engine's worker (`inPageAndWorkers`). The
 * page keeps its engine worker in `window.__engineWorker`. The worker waits for a
 * `{ __crashOnNextAnalysis }` message (hidden from the engine); then the next analysis's result is
 * never posted and the worker throws an uncaught error instead: a worker that crashes mid-run.
 */
function engineCrashHook(): void {
  const scope = globalThis as unknown as Record<string, unknown>;
  if (typeof (scope as { document?: unknown }).document !== 'undefined') {
    const NativeWorker = Worker;
    scope.Worker = class extends NativeWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        if (options?.name === 'attention-explorer-engine') scope.__engineWorker = this;
      }
    };
    return;
  }
  let armed = false;
  self.addEventListener('message', (e: MessageEvent<{ __crashOnNextAnalysis?: boolean }>) => {
    if (!e.data?.__crashOnNextAnalysis) return;
    armed = true;
    e.stopImmediatePropagation();
  });
  // The next result never leaves: the worker dies with an uncaught error instead.
  const post = self.postMessage.bind(self) as (m: unknown, t?: Transferable[]) => void;
  (self as unknown as { postMessage: typeof post }).postMessage = (m: unknown, t?: Transferable[]) => {
    if (armed && (m as { type?: string })?.type === 'result') {
      armed = false;
      setTimeout(() => {
        throw new Error('simulated crash');
      }, 0);
      return;
    }
    post(m, t);
  };
}

/** The init script (Playwright's addInitScript) that lets a test crash the engine's worker. */
export const watchEngineCrash = inPageAndWorkers(engineCrashHook);

/** Runs in the page: its engine worker crashes during the next analysis it gets. */
export function crashEngineOnNextAnalysis(): void {
  (window as unknown as { __engineWorker: Worker }).__engineWorker.postMessage({ __crashOnNextAnalysis: true });
}
