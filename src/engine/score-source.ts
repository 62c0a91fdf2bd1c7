import { onnx } from 'onnx-proto';
import { halfBitsToFloat32 } from './half';

/**
 * Where an unfused attention's query and key are: the two operands of the Q·Kᵀ product that the
 * Softmax's scores come from, and the constant the scores are scaled by on the way (a Div or Mul
 * by a scalar, FusedMatMul's alpha). Found by walking back from the Softmax through the score
 * path (scaling, masking, casts); the masks that path adds are not read here: the query·key view
 * recovers what was added from the attention itself (common/query-key.ts).
 */
export interface ScoreSource {
  /** The left operand: [batch, heads, T, d]. */
  query: string;
  /** The right operand: Kᵀ ([batch, heads, d, T]) when `keyTransposed`, else K ([batch, heads, T, d]). */
  key: string;
  keyTransposed: boolean;
  /** What the product is multiplied by before the mask and the softmax. */
  scale: number;
}

const PASS = new Set(['Cast', 'Identity', 'Reshape']);

function tensorScalar(t: onnx.ITensorProto | null | undefined): number | undefined {
  if (!t) return undefined;
  const count = (t.dims ?? []).reduce((a, b) => a * Number(b), 1);
  if (count !== 1) return undefined;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  switch (t.dataType) {
    case onnx.TensorProto.DataType.FLOAT:
      return view ? view.getFloat32(0, true) : t.floatData?.[0];
    case onnx.TensorProto.DataType.DOUBLE:
      return view ? view.getFloat64(0, true) : t.doubleData?.[0];
    case onnx.TensorProto.DataType.FLOAT16:
      return view ? halfBitsToFloat32(Uint16Array.of(view.getUint16(0, true)))[0] : undefined;
    default:
      return undefined;
  }
}

/** The graph's scalar constants (initializers and Constant nodes) by tensor name. */
function scalarsOf(graph: onnx.IGraphProto): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of graph.initializer ?? []) {
    const v = tensorScalar(t);
    if (v !== undefined && t.name) out.set(t.name, v);
  }
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Constant' || !n.output?.[0]) continue;
    const value = n.attribute?.find((a) => a.name === 'value');
    const v = value?.t ? tensorScalar(value.t) : (value?.f ?? undefined);
    if (v !== undefined && v !== null) out.set(n.output[0], v);
  }
  return out;
}

/** Builds the lookups once per graph; `find` then walks back from one Softmax. */
export function scoreSources(graph: onnx.IGraphProto): (softmax: onnx.INodeProto) => ScoreSource | string {
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const scalars = scalarsOf(graph);
  /** Whether a product of the walk's kind lies upstream (within a few steps), to choose a branch. */
  const reachesProduct = (t: string, depth: number): boolean => {
    const p = producer.get(t);
    if (!p || depth > 6) return false;
    if (p.opType === 'MatMul' || p.opType === 'FusedMatMul') return true;
    return (p.input ?? []).some((i) => reachesProduct(i, depth + 1));
  };
  return (softmax) => {
    let scale = 1;
    let t = softmax.input?.[0] ?? '';
    for (let depth = 0; depth < 12; depth++) {
      const p = producer.get(t);
      const op = p?.opType ?? '';
      const inputs = p?.input ?? [];
      if (!p) return 'the scores do not come from a query·key product in this graph';
      if (op === 'MatMul' || op === 'FusedMatMul') {
        const attr = (name: string): number | undefined => {
          const a = p.attribute?.find((x) => x.name === name);
          return a ? (a.type === onnx.AttributeProto.AttributeType.FLOAT ? (a.f ?? 0) : Number(a.i ?? 0)) : undefined;
        };
        if (attr('transA') === 1) return 'its query·key product transposes the query (FusedMatMul transA)';
        return {
          query: inputs[0],
          key: inputs[1],
          keyTransposed: attr('transB') !== 1,
          scale: scale * (attr('alpha') ?? 1),
        };
      }
      if (PASS.has(op)) t = inputs[0];
      else if (op === 'Div' || op === 'Mul') {
        const constant = inputs.findIndex((i) => scalars.has(i));
        if (constant < 0) return `its scores are scaled by a ${op} whose factor is computed at run time`;
        const c = scalars.get(inputs[constant])!;
        if (op === 'Div' && constant === 0) return 'its scores divide a constant';
        scale = op === 'Div' ? scale / c : scale * c;
        t = inputs[1 - constant];
      } else if (op === 'Add' || op === 'Sub' || op === 'Where') {
        // The mask: follow the operand the product comes through.
        const candidates = op === 'Where' ? inputs.slice(1) : inputs;
        const next = candidates.find((i) => reachesProduct(i, 0));
        if (!next) return 'the scores do not come from a query·key product in this graph';
        if (op === 'Sub' && next !== inputs[0]) return 'its scores are subtracted from something';
        t = next;
      } else {
        return `its scores pass through ${op} on their way to the softmax, which the query·key view does not undo`;
      }
    }
    return 'its score path is too long to follow';
  };
}
