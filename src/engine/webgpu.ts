/** What the engine asks of WebGPU: whether there is an adapter, and whether the device was lost. */
import * as ort from 'onnxruntime-web';

export interface WebGpuAdapter {
  /** A software (fallback) adapter such as SwiftShader: far slower than WebAssembly. */
  software: boolean;
  name: string;
}
export type WebGpuProbe = () => Promise<WebGpuAdapter | null>;

interface GpuLike {
  requestAdapter(): Promise<{ isFallbackAdapter?: boolean; info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string } } | null>;
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
    return { software: Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter) || /swiftshader/i.test(name), name };
  } catch {
    return null;
  }
};

/** The part of a GPUDevice this module uses (no WebGPU type package is needed for it). */
export interface LosableDevice {
  lost: Promise<{ message?: string; reason?: string }>;
}

/**
 * The device onnxruntime-web's WebGPU backend runs on, once it has one. A lost device (a driver
 * reset, a GPU process crash) leaves ONNX Runtime's pending work waiting forever, so the session
 * watches for the loss itself.
 */
export async function webGpuDevice(): Promise<LosableDevice | undefined> {
  try {
    const d = (await (ort.env.webgpu as unknown as { device: Promise<unknown> }).device) as Partial<LosableDevice> | undefined;
    return d && d.lost instanceof Promise ? (d as LosableDevice) : undefined;
  } catch {
    return undefined;
  }
}

/** Rejects when the device is lost; never settles otherwise. */
export function whenLost(device: LosableDevice | undefined): Promise<never> {
  if (!device) return new Promise<never>(() => undefined);
  return device.lost.then((info) => {
    const detail = (info.message || info.reason || '').replace(/\.\s*$/, '');
    throw new Error(`the WebGPU device was lost${detail ? ` (${detail})` : ''}`);
  });
}

