import { inPageAndWorkers } from './worker-prelude';

/**
 * Runs before the page's scripts, in every frame and in the engine's worker (`inPageAndWorkers`).
 * In each scope it records every GPUDevice requested and, once told on the BroadcastChannel
 * `attention-explorer-test-gpu-loss`, destroys them right after the next command buffer is
 * submitted — a WebGPU device lost while a run is on the GPU, through the WebGPU API itself. A
 * frame that started an engine worker gets `window.__engineWorkers` counted.
 */
function gpuDeviceWatch(): void {
  const CHANNEL = 'attention-explorer-test-gpu-loss';
  const scope = globalThis as unknown as Record<string, unknown> & { __engineWorkers?: number };
  if (typeof (scope as { document?: unknown }).document !== 'undefined') {
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

/** The init script (Playwright's addInitScript) that watches every frame's and engine worker's GPU devices. */
export const watchGpuDevices = inPageAndWorkers(gpuDeviceWatch);

/** Runs in a frame: every watched scope of its origin loses its devices at its next submit. */
export function loseGpuAtNextSubmit(): void {
  new BroadcastChannel('attention-explorer-test-gpu-loss').postMessage('lose');
}
