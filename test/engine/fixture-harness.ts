/**
 * Runs in headless Chromium on a page served from 127.0.0.1: the webview's engine code (graph
 * surgery, onnxruntime-web session, backend choice) on a fixture, returning its attention.
 */
import * as ort from 'onnxruntime-web';
import { exposeAttention } from '../../src/engine/attention-graph';
import { AttentionSession } from '../../src/engine/session';
import { setUpRuntime } from '../../src/engine/runtime-init';
import type { BackendSetting } from '../../src/common/protocol';

setUpRuntime({ wasmPaths: '/dist/webview/ort/' });

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function runFixture(modelUrl: string, dataFiles: string[], ids: number[], backend: BackendSetting) {
  const graph = exposeAttention(await bytes(modelUrl));
  const base = modelUrl.slice(0, modelUrl.lastIndexOf('/') + 1);
  const external = await Promise.all(
    graph.externalDataFiles
      .filter((f) => dataFiles.includes(f))
      .map(async (f) => ({ path: f, data: await bytes(base + f) })),
  );
  const session = await AttentionSession.create(graph, external, backend);
  const out = await session.run(ids);
  await session.release();
  return {
    backend: session.backend,
    note: session.backendNote,
    heads: out.heads,
    layers: out.layers.map((l) => Array.from(l)),
  };
}

(window as unknown as { runFixture: typeof runFixture }).runFixture = runFixture;
document.title = 'harness ready';

/**
 * A WebGPU device lost while a model is open (a driver reset, a GPU process crash): destroyed here
 * through the WebGPU API between two runs. The session must finish the next run on WebAssembly and
 * say so; a session opened afterwards must not wait on the dead device either.
 */
async function webGpuLoss(modelUrl: string, ids: number[]) {
  const graph = exposeAttention(await bytes(modelUrl));
  const session = await AttentionSession.create(graph, [], 'webgpu');
  const first = { backend: session.backend, layers: (await session.run(ids)).layers.map((l) => Array.from(l)) };
  const device = await (ort.env.webgpu as unknown as { device: Promise<{ destroy(): void }> }).device;
  device.destroy();
  // Between two analyses (seconds apart for a user) the browser has reported the loss.
  await new Promise((r) => setTimeout(r, 100));
  const out = await session.run(ids);
  const after = { backend: session.backend, note: session.backendNote, layers: out.layers.map((l) => Array.from(l)) };
  const again = await session.run(ids);
  const next = await AttentionSession.create(exposeAttention(await bytes(modelUrl)), [], 'webgpu');
  const opened = { backend: next.backend, note: next.backendNote, rows: (await next.run(ids)).layers.length };
  await Promise.all([session.release(), next.release()]);
  return { first, after, againBackend: session.backend, againLayers: again.layers.length, opened };
}
(window as unknown as { webGpuLoss: typeof webGpuLoss }).webGpuLoss = webGpuLoss;
