/**
 * Runs in the browser, in every frame, before the page's scripts (Playwright's addInitScript):
 * records each GPUDevice the frame requests and, once `window.__loseOnSubmit` is set, destroys
 * them right after the next command buffer is submitted — a WebGPU device lost while a run is on
 * the GPU, through the WebGPU API itself.
 */
export function watchGpuDevices(): void {
  const g = globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> } | undefined>;
  const adapter = g.GPUAdapter;
  const queue = g.GPUQueue;
  if (!adapter || !queue) return;
  const w = window as unknown as { __loseOnSubmit: boolean; __devices: { destroy(): void }[] };
  w.__devices = [];
  const requestDevice = adapter.prototype.requestDevice;
  adapter.prototype.requestDevice = async function (this: unknown, ...a: unknown[]) {
    const d = (await requestDevice.apply(this, a)) as { destroy(): void };
    w.__devices.push(d);
    return d;
  };
  const submit = queue.prototype.submit;
  queue.prototype.submit = function (this: unknown, ...a: unknown[]) {
    const r = submit.apply(this, a);
    if (w.__loseOnSubmit) {
      w.__loseOnSubmit = false;
      for (const d of w.__devices) d.destroy();
    }
    return r;
  };
}
