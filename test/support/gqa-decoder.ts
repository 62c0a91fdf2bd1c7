import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { xorshiftWeights } from './random-weights';

/**
 * A decoder with random weights whose graph is what ONNX Runtime's model builder writes for Qwen,
 * Llama and Phi-3 exports: per layer a
 * norm, Q/K/V projections with biases, com.microsoft.GroupQueryAttention with the rotary embedding
 * inside (cos/sin caches as initializers), the output projection, a SwiGLU feed-forward. Two
 * variants, as Hub repositories publish them:
 * - `fp32`: float weights (about 2 GB) in an external data file beside the graph;
 * - `q4`: 4-bit weights in blocks of 32 (MatMulNBits, and GatherBlockQuantized for the embedding),
 *   in one file of about 310 MB.
 * The language-model head is left out: the attention surgery removes it anyway.
 */
export interface DecoderShape {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  ffn: number;
  vocab: number;
  positions: number;
}

/** Qwen2.5-0.5B's shape, for the benchmark. */
export const DECODER_05B: DecoderShape = {
  layers: 24,
  heads: 14,
  kvHeads: 2,
  headDim: 64,
  hidden: 896,
  ffn: 4864,
  vocab: 151936,
  positions: 4096,
};

/** A tiny model with Qwen2.5's vocabulary (so that its real tokenizer fits it), for the end-to-end tests. */
export const TINY_QWEN: DecoderShape = {
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  hidden: 64,
  ffn: 128,
  vocab: 151936,
  positions: 512,
};

export type DecoderVariant = 'fp32' | 'q4';

const BLOCK = 32;
const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const I32 = onnx.TensorProto.DataType.INT32;
const U8 = onnx.TensorProto.DataType.UINT8;
const A = onnx.AttributeProto.AttributeType;

/**
 * Writes the variant as `dir/stem.onnx` (once: an existing file is reused); returns the graph's
 * path and its external data files.
 */
export function buildGqaDecoder(
  dir: string,
  stem: string,
  shape: DecoderShape,
  variant: DecoderVariant,
): { graph: string; externalData: string[] } {
  const graphFile = path.join(dir, `${stem}.onnx`);
  const dataName = `${stem}.onnx.data`;
  const externalData = variant === 'fp32' ? [dataName] : [];
  if (fs.existsSync(graphFile) && externalData.every((f) => fs.existsSync(path.join(dir, f))))
    return { graph: graphFile, externalData };
  fs.mkdirSync(dir, { recursive: true });
  const { layers, heads, kvHeads, headDim, hidden, ffn, vocab, positions } = shape;

  const generator = xorshiftWeights(12345);
  const random = generator.floats;
  const randomBytes = generator.bytes;

  // Float weights of the fp32 variant go to the external data file as they are made.
  const data = variant === 'fp32' ? fs.openSync(path.join(dir, `${dataName}.part`), 'w') : undefined;
  let offset = 0;
  const initializer: onnx.ITensorProto[] = [];
  const floats = (name: string, dims: number[], values: Float32Array): string => {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (data !== undefined && values.length >= 1024) {
      fs.writeSync(data, bytes);
      initializer.push({
        name,
        dims,
        dataType: F,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.length) },
        ],
      });
      offset += bytes.length;
    } else initializer.push({ name, dims, dataType: F, rawData: bytes });
    return name;
  };
  const ints = (name: string, values: number[], dims = [values.length]): string => {
    initializer.push({ name, dims, dataType: I64, int64Data: values });
    return name;
  };

  const node: onnx.INodeProto[] = [];
  let count = 0;
  const op = (
    opType: string,
    input: string[],
    attribute: onnx.IAttributeProto[] = [],
    domain?: string,
    outputs = 1,
  ): string => {
    const name = `${opType}_${count++}`;
    const output = Array.from({ length: outputs }, (_, i) => (i === 0 ? name : `${name}_${i}`));
    node.push({ opType, domain, input, output, name, attribute });
    return name;
  };
  const int = (name: string, i: number): onnx.IAttributeProto => ({ name, type: A.INT, i });

  /** x · W ([K, N]): a float MatMul, or MatMulNBits with random 4-bit codes and block scales. */
  const linear = (input: string, name: string, K: number, N: number): string => {
    if (variant === 'fp32') return op('MatMul', [input, floats(name, [K, N], random(K * N, 0.04))]);
    initializer.push({
      name: `${name}_q4`,
      dims: [N, K / BLOCK, BLOCK / 2],
      dataType: U8,
      rawData: randomBytes((N * K) / 2),
    });
    floats(`${name}_scales`, [(N * K) / BLOCK], random((N * K) / BLOCK, 0.01).map(Math.abs));
    return op(
      'MatMulNBits',
      [input, `${name}_q4`, `${name}_scales`],
      [int('K', K), int('N', N), int('bits', 4), int('block_size', BLOCK)],
      'com.microsoft',
    );
  };

  // Embedding.
  let h: string;
  if (variant === 'fp32')
    h = op('Gather', [floats('embed', [vocab, hidden], random(vocab * hidden, 0.04)), 'input_ids']);
  else {
    initializer.push({
      name: 'embed_q4',
      dims: [vocab, hidden / 2],
      dataType: U8,
      rawData: randomBytes((vocab * hidden) / 2),
    });
    floats('embed_scales', [vocab, hidden / BLOCK], random((vocab * hidden) / BLOCK, 0.01).map(Math.abs));
    h = op(
      'GatherBlockQuantized',
      ['embed_q4', 'input_ids', 'embed_scales'],
      [int('gather_axis', 0), int('quantize_axis', 1), int('block_size', BLOCK), int('bits', 4)],
      'com.microsoft',
    );
  }
  // seqlens_k and the total length, as the model builder derives them from attention_mask.
  ints('axis1', [1]);
  ints('one', [1], []);
  const seqlens = op(
    'Cast',
    [op('Sub', [op('ReduceSum', ['attention_mask', 'axis1'], [int('keepdims', 0)]), 'one'])],
    [int('to', I32)],
  );
  const total = op('Cast', [op('Gather', [op('Shape', ['attention_mask']), 'one'])], [int('to', I32)]);
  // Rotary caches: θ_i = 10000^(−i/half), angle = position · θ_i.
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++)
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * 10000 ** (-i / half));
      sin[p * half + i] = Math.sin(p * 10000 ** (-i / half));
    }
  initializer.push(
    { name: 'cos_cache', dims: [positions, half], dataType: F, rawData: new Uint8Array(cos.buffer) },
    { name: 'sin_cache', dims: [positions, half], dataType: F, rawData: new Uint8Array(sin.buffer) },
  );
  const norm = (input: string, name: string): string =>
    op(
      'LayerNormalization',
      [
        input,
        floats(`${name}_g`, [hidden], new Float32Array(hidden).fill(1)),
        floats(`${name}_b`, [hidden], new Float32Array(hidden)),
      ],
      [{ name: 'axis', type: A.INT, i: -1 }],
    );
  for (let l = 0; l < layers; l++) {
    const n1 = norm(h, `l${l}_ln1`);
    const bias = (name: string, n: number): string => floats(name, [n], random(n, 0.02));
    const q = op('Add', [linear(n1, `l${l}_q`, hidden, heads * headDim), bias(`l${l}_qb`, heads * headDim)]);
    const k = op('Add', [linear(n1, `l${l}_k`, hidden, kvHeads * headDim), bias(`l${l}_kb`, kvHeads * headDim)]);
    const v = op('Add', [linear(n1, `l${l}_v`, hidden, kvHeads * headDim), bias(`l${l}_vb`, kvHeads * headDim)]);
    const attn = op(
      'GroupQueryAttention',
      [q, k, v, '', '', seqlens, total, 'cos_cache', 'sin_cache'],
      [int('num_heads', heads), int('kv_num_heads', kvHeads), int('do_rotary', 1)],
      'com.microsoft',
      3,
    );
    const h2 = op('Add', [h, linear(attn, `l${l}_o`, heads * headDim, hidden)]);
    const n2 = norm(h2, `l${l}_ln2`);
    const gate = linear(n2, `l${l}_gate`, hidden, ffn);
    const up = linear(n2, `l${l}_up`, hidden, ffn);
    const act = op('Mul', [op('Mul', [gate, op('Sigmoid', [gate])]), up]);
    h = op('Add', [h2, linear(act, `l${l}_down`, ffn, hidden)]);
  }
  const out = norm(h, 'final_ln');
  if (data !== undefined) {
    fs.closeSync(data);
    fs.renameSync(path.join(dir, `${dataName}.part`), path.join(dir, dataName));
  }
  const ids = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: I64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
  });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    producerName: 'attention-explorer benchmark',
    graph: {
      name: stem,
      input: [ids('input_ids'), ids('attention_mask')],
      output: [{ name: out }],
      initializer,
      node,
    },
  }).finish();
  fs.writeFileSync(`${graphFile}.part`, bytes);
  fs.renameSync(`${graphFile}.part`, graphFile);
  return { graph: graphFile, externalData };
}
