import { onnx } from 'onnx-proto';

/**
 * Rewrites a graph's weights the way 4-bit and 8-bit exports store them, and builds the float
 * twin that holds exactly the values they dequantize to:
 * - `matmulnbits`: every MatMul by a [K, N] float weight becomes com.microsoft.MatMulNBits (4-bit,
 *   blocks of 32 along K, one scale per block, zero point 8), as transformers.js' q4 graphs and
 *   ONNX Runtime's model builder write them;
 * - `blockwise`: every such weight becomes int8 data and a DequantizeLinear with block_size 32
 *   (ONNX opset 21), as blockwise-quantized exports do;
 * - `gather`: also the token embedding's Gather becomes com.microsoft.GatherBlockQuantized (4-bit
 *   rows, blocks of 32).
 * The twin is the original graph with each weight replaced by its dequantized values, so the two
 * compute the same products (up to summation order).
 */
export type QuantizeKind = 'matmulnbits' | 'blockwise' | 'gather';

const BLOCK = 32;

function floatsOf(t: onnx.ITensorProto): Float32Array {
  if (t.floatData && t.floatData.length) return Float32Array.from(t.floatData);
  const raw = t.rawData!;
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

const floatTensor = (name: string, dims: number[], data: Float32Array): onnx.TensorProto =>
  onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  });

/** Symmetric 4-bit codes (0..15, zero point 8) of `values` in blocks of 32, with each block's scale. */
function quantize4(values: Float32Array): { codes: Uint8Array; scales: Float32Array; dequantized: Float32Array } {
  const blocks = values.length / BLOCK;
  const codes = new Uint8Array(values.length);
  const scales = new Float32Array(blocks);
  const dequantized = new Float32Array(values.length);
  for (let b = 0; b < blocks; b++) {
    let max = 0;
    for (let i = 0; i < BLOCK; i++) max = Math.max(max, Math.abs(values[b * BLOCK + i]));
    const scale = Math.fround(max / 7 || 1);
    scales[b] = scale;
    for (let i = 0; i < BLOCK; i++) {
      const q = Math.max(0, Math.min(15, Math.round(values[b * BLOCK + i] / scale) + 8));
      codes[b * BLOCK + i] = q;
      dequantized[b * BLOCK + i] = Math.fround((q - 8) * scale);
    }
  }
  return { codes, scales, dequantized };
}

/** Two 4-bit codes per byte, the first in the low nibble. */
function pack4(codes: Uint8Array): Uint8Array {
  const out = new Uint8Array(codes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = codes[2 * i] | (codes[2 * i + 1] << 4);
  return out;
}

/**
 * torch exports a Linear's weight as Transpose([out, in]) → MatMul: the transposes of 2-D weights
 * are folded into [in, out] initializers first, as quantized exports store them.
 */
function foldWeightTransposes(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph as onnx.GraphProto;
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  g.node = g.node.filter((n) => {
    const w = n.opType === 'Transpose' ? inits.get(n.input![0]) : undefined;
    const dims = w?.dims?.map(Number);
    if (!w || w.dataType !== onnx.TensorProto.DataType.FLOAT || dims?.length !== 2) return true;
    const [rows, cols] = dims;
    const v = floatsOf(w);
    const t = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
    g.initializer.push(floatTensor(n.output![0], [cols, rows], t));
    return false;
  }) as onnx.NodeProto[];
  return onnx.ModelProto.encode(model).finish();
}

export function quantizeWeights(source: Uint8Array, kind: QuantizeKind): { quantized: Uint8Array; twin: Uint8Array } {
  const bytes = foldWeightTransposes(source);
  const model = onnx.ModelProto.decode(bytes);
  const twinModel = onnx.ModelProto.decode(bytes);
  const g = model.graph as onnx.GraphProto;
  const tg = twinModel.graph as onnx.GraphProto;
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const twinInits = new Map(tg.initializer.map((t) => [t.name, t]));
  const used = (name: string): number => g.node.filter((n) => n.input?.includes(name)).length;
  let count = 0;
  const nodes: onnx.INodeProto[] = [];
  for (const n of g.node) {
    const w = n.opType === 'MatMul' ? inits.get(n.input![1]) : undefined;
    const dims = w?.dims?.map(Number);
    const isWeight =
      w &&
      w.dataType === onnx.TensorProto.DataType.FLOAT &&
      dims?.length === 2 &&
      dims[0] % BLOCK === 0 &&
      used(w.name!) === 1;
    const gatherTable = kind === 'gather' && n.opType === 'Gather' ? inits.get(n.input![0]) : undefined;
    const tableDims = gatherTable?.dims?.map(Number);
    if (gatherTable && tableDims?.length === 2 && tableDims[1] % BLOCK === 0 && n.input![1] === 'input_ids') {
      // Rows of the embedding, quantized along the hidden axis.
      const [rows, cols] = tableDims;
      const { codes, scales, dequantized } = quantize4(floatsOf(gatherTable));
      const name = gatherTable.name!;
      g.initializer.push(
        onnx.TensorProto.create({
          name: `${name}_q4`,
          dims: [rows, cols / 2],
          dataType: onnx.TensorProto.DataType.UINT8,
          rawData: pack4(codes),
        }),
        floatTensor(`${name}_scales`, [rows, cols / BLOCK], scales),
      );
      twinInits.get(name)!.rawData = new Uint8Array(dequantized.buffer);
      twinInits.get(name)!.floatData = [];
      nodes.push(
        onnx.NodeProto.create({
          opType: 'GatherBlockQuantized',
          domain: 'com.microsoft',
          name: `${n.name}_q4`,
          input: [`${name}_q4`, n.input![1], `${name}_scales`],
          output: n.output,
          attribute: [
            { name: 'gather_axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
            { name: 'quantize_axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
            { name: 'block_size', type: onnx.AttributeProto.AttributeType.INT, i: BLOCK },
            { name: 'bits', type: onnx.AttributeProto.AttributeType.INT, i: 4 },
          ],
        }),
      );
      count++;
      continue;
    }
    if (!isWeight || !dims || kind === 'gather') {
      nodes.push(n);
      continue;
    }
    const [K, N] = dims;
    const values = floatsOf(w);
    const name = w.name!;
    // Blocks run along K for each output column n: transpose to [N, K] first.
    const byColumn = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let c = 0; c < N; c++) byColumn[c * K + k] = values[k * N + c];
    const { codes, scales, dequantized } = quantize4(byColumn);
    const twinValues = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let c = 0; c < N; c++) twinValues[k * N + c] = dequantized[c * K + k];
    const tw = twinInits.get(name)!;
    tw.rawData = new Uint8Array(twinValues.buffer);
    tw.floatData = [];
    if (kind === 'matmulnbits') {
      g.initializer.push(
        onnx.TensorProto.create({
          name: `${name}_q4`,
          dims: [N, K / BLOCK, BLOCK / 2],
          dataType: onnx.TensorProto.DataType.UINT8,
          rawData: pack4(codes),
        }),
        floatTensor(`${name}_scales`, [N * (K / BLOCK)], scales),
      );
      const int = (nm: string, i: number): onnx.IAttributeProto => ({
        name: nm,
        type: onnx.AttributeProto.AttributeType.INT,
        i,
      });
      nodes.push(
        onnx.NodeProto.create({
          opType: 'MatMulNBits',
          domain: 'com.microsoft',
          name: `${n.name}_q4`,
          input: [n.input![0], `${name}_q4`, `${name}_scales`],
          output: n.output,
          attribute: [int('K', K), int('N', N), int('bits', 4), int('block_size', BLOCK)],
        }),
      );
    } else {
      // int8 data [K, N] and scales [K / 32, N]: DequantizeLinear(axis 0, block_size 32), then MatMul.
      const int8 = new Int8Array(K * N);
      const blockScales = new Float32Array((K / BLOCK) * N);
      for (let k = 0; k < K; k++)
        for (let c = 0; c < N; c++) {
          int8[k * N + c] = codes[c * K + k] - 8;
          blockScales[Math.floor(k / BLOCK) * N + c] = scales[((c * K + k) / BLOCK) | 0];
        }
      g.initializer.push(
        onnx.TensorProto.create({
          name: `${name}_int8`,
          dims: [K, N],
          dataType: onnx.TensorProto.DataType.INT8,
          rawData: new Uint8Array(int8.buffer),
        }),
        floatTensor(`${name}_block_scales`, [K / BLOCK, N], blockScales),
      );
      nodes.push(
        onnx.NodeProto.create({
          opType: 'DequantizeLinear',
          name: `${name}_dequantized`,
          input: [`${name}_int8`, `${name}_block_scales`],
          output: [`${name}_dequantized`],
          attribute: [
            { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
            { name: 'block_size', type: onnx.AttributeProto.AttributeType.INT, i: BLOCK },
          ],
        }),
        onnx.NodeProto.create({ ...n, input: [n.input![0], `${name}_dequantized`] }),
      );
    }
    count++;
  }
  if (count === 0) throw new Error('no weight was quantized');
  g.node = nodes as onnx.NodeProto[];
  // The original float weights are no longer read.
  const read = new Set(g.node.flatMap((n) => n.input ?? []));
  g.initializer = g.initializer.filter((t) => read.has(t.name!));
  const opsets = model.opsetImport.filter((o) => o.domain !== 'com.microsoft' && (o.domain ?? '') !== '');
  model.opsetImport = [
    ...opsets,
    onnx.OperatorSetIdProto.create({ domain: '', version: kind === 'blockwise' ? 21 : 17 }),
    onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }),
  ];
  return { quantized: onnx.ModelProto.encode(model).finish(), twin: onnx.ModelProto.encode(twinModel).finish() };
}
