/** Whether the device onnxruntime-web's WebGPU backend runs on was lost. */
import * as ort from 'onnxruntime-web';

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
    const d = (await (ort.env.webgpu as unknown as { device: Promise<unknown> }).device) as
      Partial<LosableDevice> | undefined;
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
