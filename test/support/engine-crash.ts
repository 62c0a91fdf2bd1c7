/**
 * Runs in the browser before the page's scripts (Playwright's addInitScript). The engine runs in a
 * worker that Playwright cannot reach, so the script keeps the page's engine worker in
 * `window.__engineWorker` and puts a copy of itself in front of every JavaScript blob a page makes
 * (the engine worker's source is one). In the worker it waits for a `{ __crashOnNextAnalysis }`
 * message (hidden from the engine); then the next analysis's result is never posted and the
 * worker throws an uncaught error instead: a worker that crashes in the middle of a run.
 */
export function watchEngineCrash(): void {
  const scope = globalThis as unknown as Record<string, unknown>;
  if (typeof (scope as { document?: unknown }).document !== 'undefined') {
    const NativeBlob = Blob;
    const prelude = `(${watchEngineCrash.toString()})();\n`;
    scope.Blob = class extends NativeBlob {
      constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
        super(options?.type === 'text/javascript' ? [prelude, ...(parts ?? [])] : parts, options);
      }
    };
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

/** Runs in the page: its engine worker crashes during the next analysis it gets. */
export function crashEngineOnNextAnalysis(): void {
  (window as unknown as { __engineWorker: Worker }).__engineWorker.postMessage({ __crashOnNextAnalysis: true });
}
