/** Starting the engine's worker, and what it runs with. */

/** The runtime can run nothing more in this page (a WebGPU device lost in the middle of a run). */
export class EngineBrokenError extends Error {}

/** The worker itself stopped (crashed, or ran out of memory): a new one is started on the next request. */
export class EngineStoppedError extends Error {}

/**
 * onnxruntime's threads: only where the page is cross-origin isolated (SharedArrayBuffer exists),
 * which VS Code gives webviews when started with `--enable-coi` (desktop) or `?vscode-coi` (web).
 */
export function engineThreads(): number {
  if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/**
 * Starts the engine's script as a module worker. A webview's worker must come from a `blob:`
 * URL; it is not revoked while the worker lives: with threads, onnxruntime starts its thread
 * workers from this same URL.
 */
export function startEngineWorker(source: string): { worker: Worker; url: string } {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return { worker: new Worker(url, { type: 'module', name: 'attention-explorer-engine' }), url };
}
