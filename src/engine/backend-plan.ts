/**
 * Which backend a setting runs on, decided from the WebGPU adapter this JS context gets. Free of
 * onnxruntime-web, so that the panel's page decides it before it loads any runtime.
 */
import type { Backend, BackendSetting } from '../common/protocol';

export interface WebGpuAdapter {
  /** A software (fallback) adapter such as SwiftShader: far slower than WebAssembly. */
  software: boolean;
  name: string;
  /** The largest storage buffer the adapter binds (its limits), when it says. */
  maxBufferBytes?: number;
}
export type WebGpuProbe = () => Promise<WebGpuAdapter | null>;

interface GpuLike {
  requestAdapter(): Promise<{
    isFallbackAdapter?: boolean;
    info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string };
    limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
  } | null>;
}

/** The WebGPU adapter this JS context gets, if any (never under plain Node). */
export const probeWebGpu: WebGpuProbe = async () => {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return null;
  try {
    const a = await gpu.requestAdapter();
    if (!a) return null;
    const info = a.info ?? {};
    const name = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter';
    const limits = [a.limits?.maxStorageBufferBindingSize, a.limits?.maxBufferSize].filter(
      (n): n is number => typeof n === 'number' && n > 0,
    );
    return {
      software: Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter) || /swiftshader/i.test(name),
      name,
      maxBufferBytes: limits.length ? Math.min(...limits) : undefined,
    };
  } catch {
    return null;
  }
};

/**
 * Where a backend setting runs, given the adapter this context has: `webgpu` uses any adapter;
 * `auto` uses a hardware adapter but not a software one (SwiftShader runs these graphs tens of
 * times slower than WebAssembly); otherwise WebAssembly, with a note saying why when that is not
 * what was asked for. The panel decides this before it loads a runtime, so that a WebAssembly
 * run never loads the (twice as large) WebGPU build.
 */
export function backendPlan(
  setting: BackendSetting,
  adapter: WebGpuAdapter | null,
): { backend: Backend; note: string | null } {
  if (setting === 'wasm') return { backend: 'wasm', note: null };
  if (!adapter)
    return {
      backend: 'wasm',
      note: setting === 'webgpu' ? 'No WebGPU adapter is available here; running on WebAssembly instead.' : null,
    };
  if (setting === 'auto' && adapter.software) {
    return {
      backend: 'wasm',
      note: `The only WebGPU adapter here is a software renderer (${adapter.name}), slower than WebAssembly: running on WebAssembly. Set attentionExplorer.backend to "webgpu" to use it anyway.`,
    };
  }
  return { backend: 'webgpu', note: null };
}
