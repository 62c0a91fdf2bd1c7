/**
 * Runs in the browser before the page's scripts (Playwright's addInitScript), in every frame, and
 * — since the engine runs in a worker that Playwright cannot reach — in every worker that a frame
 * starts from a JavaScript blob (the panel's engine worker is one): the script puts itself in
 * front of such a blob's source. In each scope it records every GPUDevice requested and, once
 * told on the BroadcastChannel `GPU_LOSS_CHANNEL`, destroys them right after the next command
 * buffer is submitted — a WebGPU device lost while a run is on the GPU, through the WebGPU API
 * itself. A frame that started an engine worker gets `window.__engineWorkers` counted.
 */
export function watchGpuDevices(): void {
  const CHANNEL = 'attention-explorer-test-gpu-loss';
  const scope = globalThis as unknown as Record<string, unknown> & { __engineWorkers?: number };
  if (typeof (scope as { document?: unknown }).document !== 'undefined') {
    const NativeBlob = Blob;
    const prelude = `(${watchGpuDevices.toString()})();\n`;
    scope.Blob = class extends NativeBlob {
      constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
        super(options?.type === 'text/javascript' ? [prelude, ...(parts ?? [])] : parts, options);
      }
    };
    const NativeWorker = Worker;
    scope.Worker = class extends NativeWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        if (options?.name === 'attention-explorer-engine') scope.__engineWorkers = (scope.__engineWorkers ?? 0) + 1;
      }
    };
  }
  const g = scope as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> } | undefined>;
  const adapter = g.GPUAdapter;
  const queue = g.GPUQueue;
  if (!adapter || !queue) return;
  const devices: { destroy(): void }[] = [];
  let loseOnSubmit = false;
  new BroadcastChannel(CHANNEL).onmessage = () => (loseOnSubmit = true);
  const requestDevice = adapter.prototype.requestDevice;
  adapter.prototype.requestDevice = async function (this: unknown, ...a: unknown[]) {
    const d = (await requestDevice.apply(this, a)) as { destroy(): void };
    devices.push(d);
    return d;
  };
  const submit = queue.prototype.submit;
  queue.prototype.submit = function (this: unknown, ...a: unknown[]) {
    const r = submit.apply(this, a);
    if (loseOnSubmit) {
      loseOnSubmit = false;
      for (const d of devices) d.destroy();
    }
    return r;
  };
}

/** Runs in a frame: every watched scope of its origin loses its devices at its next submit. */
export function loseGpuAtNextSubmit(): void {
  new BroadcastChannel('attention-explorer-test-gpu-loss').postMessage('lose');
}
