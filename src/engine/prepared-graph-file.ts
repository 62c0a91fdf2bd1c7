import type { PreparedGraph } from './attention-graph';

/**
 * The graph after surgery, as one file for a cache: what the surgery found (JSON) and the
 * serialized graph, tagged with the surgery's version and the source model's content hash. A file
 * from another version, for another model, or cut short is refused (`PreparedGraphError`) and the
 * caller rebuilds it from the model.
 *
 * Layout: "AEPG" · u32 version · u32 JSON length · JSON · graph bytes (little-endian).
 */

/** Raise when the surgery's output changes: older cached graphs are then rebuilt. */
export const SURGERY_VERSION = 5;

const MAGIC = [0x41, 0x45, 0x50, 0x47]; // "AEPG"

export class PreparedGraphError extends Error {}

interface Header {
  source: string;
  graphBytes: number;
  info: Omit<PreparedGraph, 'bytes'>;
}

// Float32Arrays (fused attention's Q/K biases) survive the JSON as tagged number lists.
const replacer = (_k: string, v: unknown): unknown => (v instanceof Float32Array ? { f32: Array.from(v) } : v);
const reviver = (_k: string, v: unknown): unknown =>
  typeof v === 'object' && v !== null && 'f32' in v && Array.isArray((v as { f32: unknown }).f32)
    ? Float32Array.from((v as { f32: number[] }).f32)
    : v;

export function encodePreparedGraph(graph: PreparedGraph, sourceHash: string): Uint8Array {
  const { bytes, ...info } = graph;
  const header: Header = { source: sourceHash, graphBytes: bytes.byteLength, info };
  const json = new TextEncoder().encode(JSON.stringify(header, replacer));
  const out = new Uint8Array(12 + json.byteLength + bytes.byteLength);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, SURGERY_VERSION, true);
  view.setUint32(8, json.byteLength, true);
  out.set(json, 12);
  out.set(bytes, 12 + json.byteLength);
  return out;
}

/** The prepared graph in `file`, if it is whole, of this surgery version and for `sourceHash`. */
export function decodePreparedGraph(file: Uint8Array, sourceHash: string): PreparedGraph {
  if (file.byteLength < 12 || MAGIC.some((b, i) => file[i] !== b)) throw new PreparedGraphError('not a prepared graph');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(4, true);
  if (version !== SURGERY_VERSION)
    throw new PreparedGraphError(`prepared by surgery version ${version}, this is ${SURGERY_VERSION}`);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength > file.byteLength) throw new PreparedGraphError('cut short');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(12, 12 + jsonLength)), reviver) as Header;
  } catch {
    throw new PreparedGraphError('its description is not readable');
  }
  if (header.source !== sourceHash) throw new PreparedGraphError('prepared from another model');
  const bytes = file.subarray(12 + jsonLength);
  if (bytes.byteLength !== header.graphBytes)
    throw new PreparedGraphError(`cut short (${bytes.byteLength} of ${header.graphBytes} graph bytes)`);
  const info = header.info;
  if (
    !Array.isArray(info?.attention) ||
    !Array.isArray(info.fetches) ||
    !Array.isArray(info.inputs) ||
    !Array.isArray(info.externalDataFiles)
  ) {
    throw new PreparedGraphError('its description is incomplete');
  }
  return { ...info, bytes };
}
