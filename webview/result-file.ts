/**
 * A result kept as one file in the panel's cache: so that the next page — after Choose Model
 * reloads the panel — can compare its first result with the last one of the model before, and so
 * that a page restored after a window reload shows its last result at once (`restore`).
 * Layout: "AERS" · u32 version · u32 JSON length · JSON · padding to 4 bytes · the windows'
 * float32 attention, layer after layer (little-endian).
 */
import { windowSize, type AttentionWindow } from '../src/common/attention-store';
import type { AnalyseRequest, ModelInfo, TokenInfo } from '../src/common/protocol';
import type { EngineResult } from '../src/engine/model-engine';

const MAGIC = [0x41, 0x45, 0x52, 0x53]; // "AERS"
const VERSION = 2;

/** What a restored page needs beyond the attention: what the result answered, and the rest of it. */
export interface RestoreHeader {
  /** The graph file's SHA-256 the result was made with. */
  modelHash: string;
  request: AnalyseRequest;
  rest: Omit<EngineResult, 'tokens' | 'store' | 'model' | 'tokenizerId'>;
}

export interface KeptResult {
  tokens: TokenInfo[];
  model: ModelInfo;
  source: string;
  tokenizerId: string;
  heads: number;
  windows: readonly AttentionWindow[];
  restore?: RestoreHeader;
}

interface Header extends Omit<KeptResult, 'windows'> {
  windows: { start: number; length: number; lead: number[]; trail: number[] }[];
}

/** The attention's bytes: what decides whether a result is worth keeping. */
export const keptBytes = (windows: readonly AttentionWindow[]): number =>
  windows.reduce((s, w) => s + w.layers.reduce((t, l) => t + l.byteLength, 0), 0);

export function encodeResult(r: KeptResult): ArrayBuffer {
  // Named field by field: the caller may hand in more (a whole engine result).
  const header: Header = {
    tokens: r.tokens,
    model: r.model,
    source: r.source,
    tokenizerId: r.tokenizerId,
    heads: r.heads,
    restore: r.restore,
    windows: r.windows.map((w) => ({
      start: w.start,
      length: w.length,
      lead: [...(w.lead ?? [])],
      trail: [...(w.trail ?? [])],
    })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const at = (12 + json.byteLength + 3) & ~3;
  const out = new Uint8Array(at + keptBytes(r.windows));
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, json.byteLength, true);
  out.set(json, 12);
  let offset = at;
  for (const w of r.windows)
    for (const l of w.layers) {
      out.set(new Uint8Array(l.buffer, l.byteOffset, l.byteLength), offset);
      offset += l.byteLength;
    }
  return out.buffer;
}

/** The kept result, or null when the file is not one (another version, cut short, unreadable). */
export function decodeResult(file: ArrayBuffer): KeptResult | null {
  const bytes = new Uint8Array(file);
  if (bytes.byteLength < 12 || MAGIC.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(file);
  if (view.getUint32(4, true) !== VERSION) return null;
  const jsonLength = view.getUint32(8, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength))) as Header;
  } catch {
    return null;
  }
  if (!Array.isArray(header?.windows) || !Array.isArray(header.tokens) || !header.model || !(header.heads >= 1))
    return null;
  let offset = (12 + jsonLength + 3) & ~3;
  const windows: AttentionWindow[] = [];
  for (const w of header.windows) {
    const size = windowSize({ ...w, layers: [] });
    const floats = header.heads * size * size;
    const layers: Float32Array[] = [];
    for (let l = 0; l < header.model.layers; l++) {
      if (offset + floats * 4 > file.byteLength) return null;
      layers.push(new Float32Array(file.slice(offset, offset + floats * 4)));
      offset += floats * 4;
    }
    windows.push({ ...w, layers });
  }
  return offset === file.byteLength ? { ...header, windows } : null;
}
