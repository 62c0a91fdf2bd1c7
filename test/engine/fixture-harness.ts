/**
 * Runs in headless Chromium on a page served from 127.0.0.1: the webview's engine code (graph
 * surgery, onnxruntime-web session, backend choice) on a fixture, returning its attention.
 */
import * as ort from 'onnxruntime-web';
import { exposeAttention } from '../../src/engine/attention-graph';
import { AttentionSession } from '../../src/engine/session';
import type { BackendSetting } from '../../src/common/protocol';

ort.env.wasm.wasmPaths = '/dist/webview/ort/';
ort.env.wasm.numThreads = 1;

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function runFixture(modelUrl: string, dataFiles: string[], ids: number[], backend: BackendSetting) {
  const graph = exposeAttention(await bytes(modelUrl));
  const base = modelUrl.slice(0, modelUrl.lastIndexOf('/') + 1);
  const external = await Promise.all(graph.externalDataFiles.filter((f) => dataFiles.includes(f)).map(async (f) => ({ path: f, data: await bytes(base + f) })));
  const session = await AttentionSession.create(graph, external, backend);
  const out = await session.run(ids);
  await session.release();
  return { backend: session.backend, note: session.backendNote, heads: out.heads, layers: out.layers.map((l) => Array.from(l)) };
}

(window as unknown as { runFixture: typeof runFixture }).runFixture = runFixture;
document.title = 'harness ready';
