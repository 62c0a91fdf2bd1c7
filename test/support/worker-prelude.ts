/**
 * An init script for Playwright (`addInitScript`) that runs `fn` in every frame and also in every
 * worker a frame starts from a JavaScript blob (the panel's engine worker is one): Playwright
 * cannot reach those, so the script puts `fn` in front of the blob's source. `fn` must stand
 * alone (it is sent as text) and tells where it runs by `typeof document`.
 */
export function inPageAndWorkers(fn: () => void): string {
  const source = `(${fn.toString()})();`;
  return `(${prependToScriptBlobs.toString()})(${JSON.stringify(source)});\n${source}`;
}

function prependToScriptBlobs(source: string): void {
  const NativeBlob = Blob;
  (globalThis as unknown as { Blob: typeof Blob }).Blob = class extends NativeBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(options?.type === 'text/javascript' ? [`${source}\n`, ...(parts ?? [])] : parts, options);
    }
  };
}
