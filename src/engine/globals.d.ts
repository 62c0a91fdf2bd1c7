/**
 * The few globals the engine uses that Node and browsers (page and worker) both provide, declared
 * here because the engine floor is compiled with neither Node's types nor the DOM's.
 */
declare const performance: { now(): number };
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
