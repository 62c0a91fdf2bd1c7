import * as ort from 'onnxruntime-web';
import { onnx } from 'onnx-proto';

/** Where onnxruntime-web finds its WebAssembly, and how many threads it may use. */
export interface RuntimeSetup {
  /** The binary itself, fetched by the page (a worker cannot rely on its own fetches). */
  wasmBinary?: ArrayBuffer;
  /** Or the URL folder it is fetched from (the engine tests' and benchmark's pages). */
  wasmPaths?: string;
  /** 1 unless the page is cross-origin isolated (threads need SharedArrayBuffer). */
  threads?: number;
}

/**
 * onnxruntime-web's settings, in the one place every runner (the panel's worker, the CLI, the
 * tests' pages and Node tests, the benchmark) sets them: on the calling thread (no proxy worker),
 * one thread unless told otherwise, and only its errors logged.
 */
export function setUpRuntime(setup: RuntimeSetup = {}): void {
  ort.env.wasm.numThreads = setup.threads ?? 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  if (setup.wasmBinary) ort.env.wasm.wasmBinary = setup.wasmBinary;
  if (setup.wasmPaths) ort.env.wasm.wasmPaths = setup.wasmPaths;
}

/** The smallest graph onnxruntime accepts: one float through an Identity. */
function identityGraph(): Uint8Array {
  const floatScalar = { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'init',
        node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
        input: [{ name: 'x', type: floatScalar }],
        output: [{ name: 'y', type: floatScalar }],
      },
    }),
  ).finish();
}

/**
 * Starts onnxruntime-web's WebAssembly runtime (instantiation and its own initialisation: most of
 * a first session's creation, 0.8 s of 1.2 s in Chromium here) with a one-node graph, so that it
 * runs while the model's bytes are still arriving. onnxruntime-web offers no other way to start it.
 */
export async function initRuntime(): Promise<void> {
  const s = await ort.InferenceSession.create(identityGraph(), { executionProviders: ['wasm'] });
  await s.release();
}
