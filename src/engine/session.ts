import * as ort from 'onnxruntime-web';
import type { Backend, BackendSetting } from '../common/protocol';
import { IDS_INPUT, type AttentionSource, type ModelInput, type PreparedGraph } from './attention-graph';
import { fusedAttentionProbs, fusedQueryKey, type FusedMask, type Tensor32 } from './fused-attention';
import { formatBytes } from '../common/memory-estimate';
import type { QueryKeyLayer } from '../common/query-key';
import { halfBitsToFloat32 } from './half';
import {
  applyToProbabilities,
  HEAD_MASK_INPUT,
  InterventionError,
  interventionFeeds,
  KEY_BIAS_INPUT,
  type Intervention,
} from './interventions';
import { backendPlan, probeWebGpu, type WebGpuProbe } from './backend-plan';
import { webGpuDevice, whenLost, type LosableDevice } from './webgpu';

export interface ExternalDataFile {
  path: string;
  data: Uint8Array;
}

/** One layer's attention as returned: [heads, T, T] probabilities. */
export interface RunOutput {
  layers: Float32Array[];
  heads: number;
  /** [T × vocabulary] logits, when asked for (RunOptions.logits). */
  logits?: { data: Float32Array; vocabulary: number };
}

export interface RunOptions {
  /** Fetch the logits in the same run (a graph prepared with them): the head runs anyway once kept. */
  logits?: boolean;
}

const INT64 = 7;
const INT32 = 6;
const FLOAT = 1;
const FLOAT16 = 10;

function idsTensor(values: ArrayLike<number>, elemType: number, t: number): ort.Tensor {
  if (elemType === INT32) return new ort.Tensor('int32', Int32Array.from(values), [1, t]);
  if (elemType === INT64 || elemType === 0) {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
    return new ort.Tensor('int64', data, [1, t]);
  }
  throw new Error(`an integer input was expected, but the model declares ONNX element type ${elemType}`);
}

const PAST = /^past_key_values\.\d+\.(key|value)$|^past_(key|value)s?(\.\d+|_\d+)?$/;

/**
 * An empty past for a decoder exported with a key/value cache: its declared shape with the
 * batch axis 1 and the past-sequence axis 0 ([batch, kv_heads, past_sequence, head_dim]).
 */
function emptyPast(input: ModelInput): ort.Tensor {
  const dims = input.dims;
  if (!dims || dims.length !== 4 || typeof dims[1] !== 'number' || typeof dims[3] !== 'number') {
    throw new Error(
      `the model's cache input "${input.name}" has no fixed [batch, heads, past_sequence, head_dim] shape (${JSON.stringify(dims)})`,
    );
  }
  const shape = [1, dims[1], 0, dims[3]];
  if (input.elemType === FLOAT16) return new ort.Tensor('float16', new Uint16Array(0), shape);
  if (input.elemType === FLOAT) return new ort.Tensor('float32', new Float32Array(0), shape);
  throw new Error(
    `the model's cache input "${input.name}" has ONNX element type ${input.elemType}; expected float or float16`,
  );
}

function webOptions(externalData: ExternalDataFile[], backend: Backend): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
    executionProviders: [backend],
  };
}

/**
 * Inputs are fed by what the model declares (and `extra`, the interventions' inputs); anything
 * else required is an error that names it.
 */
function feedsFor(
  graph: GraphInfo,
  ids: readonly number[],
  extra: Record<string, ort.Tensor> = {},
): Record<string, ort.Tensor> {
  const t = ids.length;
  // An id past the embedding would make the runtime fail with an index error deep in the graph.
  const vocabulary = graph.vocabulary;
  const outside = vocabulary ? ids.find((id) => id >= vocabulary) : undefined;
  if (vocabulary && outside !== undefined)
    throw new Error(
      `the tokenizer gave token id ${outside}, but the model's embedding has only ${vocabulary} rows: the tokenizer.json does not belong to this model (or the graph declares a smaller vocabulary than its tokenizer)`,
    );
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of graph.inputs) {
    const n = input.name;
    if (extra[n]) feeds[n] = extra[n];
    else if (IDS_INPUT.test(n)) feeds[n] = idsTensor(ids, input.elemType, t);
    else if (/attention_mask$/.test(n)) feeds[n] = idsTensor(new Array<number>(t).fill(1), input.elemType, t);
    else if (/token_type_ids$/.test(n)) feeds[n] = idsTensor(new Array<number>(t).fill(0), input.elemType, t);
    else if (/position_ids$/.test(n))
      feeds[n] = idsTensor(
        Array.from({ length: t }, (_, i) => i),
        input.elemType,
        t,
      );
    // Decoders exported with a cache: no past (sequence length 0), and a merged decoder's
    // branch switch set to "no cache".
    else if (PAST.test(n)) feeds[n] = emptyPast(input);
    else if (n === 'use_cache_branch') feeds[n] = new ort.Tensor('bool', new Uint8Array([0]), [1]);
    else {
      throw new Error(
        `the model requires an input "${n}" that Attention Explorer does not know how to fill (it feeds input_ids, attention_mask, token_type_ids, position_ids, empty past_key_values and use_cache_branch)`,
      );
    }
  }
  if (!graph.inputs.some((i) => IDS_INPUT.test(i.name))) {
    throw new Error(
      `the model declares no input_ids input (its inputs: ${graph.inputs.map((i) => i.name).join(', ') || 'none'})`,
    );
  }
  return feeds;
}

function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const d = t.data as unknown;
    if (d instanceof Uint16Array) return halfBitsToFloat32(d);
    return Float32Array.from(d as ArrayLike<number>);
  }
  throw new Error(`attention output of unexpected type ${t.type}`);
}

/** Why a graph gives no predictions: it has no logits output (named with the outputs it had). */
export function noLogitsReason(graph: Pick<GraphInfo, 'originalOutputs'>): string {
  return `this graph has no logits output (its outputs: ${graph.originalOutputs.join(', ') || 'none'}): use a language-model export (…ForCausalLM), not the bare encoder or decoder`;
}

/** A [1, T, vocabulary] logits tensor as float32, with its vocabulary. */
function logitsOf(t: ort.Tensor, n: number): { data: Float32Array; vocabulary: number } {
  const dims = t.dims;
  if (dims.length !== 3 || dims[1] !== n)
    throw new Error(`logits of shape [${dims.join(', ')}], expected [1, ${n}, vocabulary]`);
  return { data: toFloat32(t), vocabulary: dims[2] };
}

type FusedSource = Extract<AttentionSource, { kind: 'fused' }>;

/**
 * A fused operator's fetched query and key (with the biases the operator adds inside, when they
 * were split off) and its mask, as the arithmetic in fused-attention.ts takes them.
 */
function fusedInputs(
  out: ort.InferenceSession.OnnxValueMapType,
  src: FusedSource,
): { q: Tensor32; k: Tensor32; mask?: FusedMask } {
  const withBias = (t: ort.Tensor, bias?: Float32Array): Tensor32 => {
    const data = toFloat32(t);
    if (!bias) return { data, dims: t.dims };
    const copy = Float32Array.from(data);
    for (let i = 0; i < copy.length; i++) copy[i] += bias[i % bias.length];
    return { data: copy, dims: t.dims };
  };
  const m = src.mask ? out[src.mask] : undefined;
  const mask = m && {
    data: m.type === 'bool' ? (m.data as Uint8Array) : toFloat32(m),
    dims: m.dims,
    boolean: m.type === 'bool',
  };
  return { q: withBias(out[src.query], src.queryBias), k: withBias(out[src.key], src.keyBias), mask };
}

/**
 * The runtime can run nothing more in this page: a WebGPU device was lost in the middle of a run.
 * The webview is reloaded to continue (on WebAssembly).
 */
export class EngineBrokenError extends Error {}

/** What a session keeps of its graph: everything but the serialized bytes (the model's size). */
export type GraphInfo = Omit<PreparedGraph, 'bytes'>;

/**
 * An inference session over a graph whose attention was exposed, on the backend chosen by the
 * setting: `webgpu` uses any adapter; `auto` uses a hardware adapter but not a software one
 * (SwiftShader runs these graphs tens of times slower than WebAssembly); otherwise WebAssembly,
 * with a note saying why when the run is not on what was asked for. A WebGPU session that fails
 * during a run (an error, or its device lost) is replaced by a WebAssembly one and the run
 * repeated there: for that, and only while on WebGPU, the session keeps the graph's bytes.
 */
export class AttentionSession {
  readonly graph: GraphInfo;
  /** Heads per layer, from the last run's attention (0 before any). */
  private heads = 0;
  private webgpuFallback?: {
    bytes: Uint8Array;
    externalData: ExternalDataFile[];
    lost: Promise<never>;
    lostError?: Error;
  };

  private constructor(
    private session: ort.InferenceSession,
    graph: PreparedGraph,
    externalData: ExternalDataFile[],
    private currentBackend: Backend,
    private note: string | null,
    readonly createMs: number,
    device?: LosableDevice,
  ) {
    const { bytes, ...info } = graph;
    this.graph = info;
    if (currentBackend === 'webgpu') {
      const lost = whenLost(device);
      this.webgpuFallback = { bytes, externalData, lost };
      lost.catch((e: Error) => {
        if (this.webgpuFallback) this.webgpuFallback.lostError = e;
      });
    }
  }

  get backend(): Backend {
    return this.currentBackend;
  }

  get backendNote(): string | null {
    return this.note;
  }

  /** `note` says why the run is on WebAssembly when the caller already decided it (backendPlan). */
  static async create(
    graph: PreparedGraph,
    externalData: ExternalDataFile[],
    setting: BackendSetting,
    hasWebGpu: WebGpuProbe = probeWebGpu,
    presetNote: string | null = null,
  ): Promise<AttentionSession> {
    const t0 = performance.now();
    let note: string | null = presetNote;
    if (setting !== 'wasm') {
      const adapter = await hasWebGpu();
      const plan = backendPlan(setting, adapter);
      if (graph.precision !== 'fp32') {
        // Measured against ONNX Runtime's CPU result for the same graph (the truth for reduced
        // precision): onnxruntime-web 1.30's WebGPU backend, on Chromium's SwiftShader adapter,
        // was off by 0.09 on float16 attention and 0.92 on int8-quantized attention, while
        // WebAssembly matches to 1e-4 (test/engine). Until a GPU says otherwise, they run on wasm.
        note = `This ${graph.precision === 'int8' ? 'int8-quantized' : 'float16'} model runs on WebAssembly: ONNX Runtime's WebGPU backend does not reproduce its attention exactly.`;
      } else if (
        plan.backend === 'webgpu' &&
        adapter?.maxBufferBytes !== undefined &&
        graph.largestWeightBytes > adapter.maxBufferBytes
      ) {
        // Checked here, before a creation that would fail half-way (or, with some drivers, crash the GPU process).
        note = `This model's largest weight (${formatBytes(graph.largestWeightBytes)}) is more than this GPU (${adapter.name}) holds in one buffer (${formatBytes(adapter.maxBufferBytes)}): running on WebAssembly.`;
      } else if (plan.backend === 'webgpu') {
        try {
          // A device lost before or while the session is made would leave the creation waiting.
          const earlier = await webGpuDevice();
          const lost = whenLost(earlier);
          lost.catch(() => undefined); // a loss after the session is made is the session's to watch
          const s = await Promise.race([
            ort.InferenceSession.create(graph.bytes, webOptions(externalData, 'webgpu')),
            lost,
          ]);
          return new AttentionSession(
            s,
            graph,
            externalData,
            'webgpu',
            null,
            performance.now() - t0,
            earlier ?? (await webGpuDevice()),
          );
        } catch (e) {
          note = `WebGPU failed to open the model (${(e as Error).message}); running on WebAssembly instead.`;
        }
      } else {
        note = plan.note;
      }
    }
    const s = await ort.InferenceSession.create(graph.bytes, webOptions(externalData, 'wasm'));
    return new AttentionSession(s, graph, externalData, 'wasm', note, performance.now() - t0);
  }

  /**
   * The interventions' inputs for a run of `ids` (none for a graph prepared without them). The plain
   * pass feeds one factor per layer, which broadcasts over any number of heads; an intervention
   * needs the number of heads, from a plain run first when none has run yet.
   */
  private async interventionInputs(
    ids: readonly number[],
    intervention?: Intervention,
  ): Promise<Record<string, ort.Tensor>> {
    if (!this.graph.interventions) {
      if (intervention)
        throw new InterventionError(
          this.graph.interventionsRefused ??
            'this session was prepared without interventions (exposeAttention(…, { interventions: true }))',
        );
      return {};
    }
    if (intervention && this.heads === 0) await this.run(ids);
    const f = interventionFeeds(this.graph.attention.length, intervention ? this.heads : 1, ids.length, intervention);
    return {
      [HEAD_MASK_INPUT]: new ort.Tensor('float32', f.headMask, f.headDims),
      [KEY_BIAS_INPUT]: new ort.Tensor('float32', f.keyBias, f.biasDims),
    };
  }

  /** The attention for `ids`, with `intervention` applied when given (a graph prepared for it). */
  async run(ids: readonly number[], intervention?: Intervention, options: RunOptions = {}): Promise<RunOutput> {
    const feeds = feedsFor(this.graph, ids, await this.interventionInputs(ids, intervention));
    const withLogits = options.logits === true;
    const fallback = this.webgpuFallback;
    if (!fallback) return this.runOn(ids, feeds, withLogits, intervention);
    // A device lost since the last run: the run is never started on it, and WebAssembly takes over.
    if (fallback.lostError)
      return this.switchToWasm(fallback, fallback.lostError, ids, feeds, withLogits, intervention);
    const running = this.runOn(ids, feeds, withLogits, intervention);
    running.catch(() => undefined); // when the device is lost first, this run never settles, or fails later
    try {
      return await Promise.race([running, fallback.lost]);
    } catch (e) {
      // (Read again: the loss may have been reported while the run was waiting.)
      const lostDuring: Error | undefined = this.webgpuFallback?.lostError;
      if (lostDuring) {
        // Lost during the run: onnxruntime-web's run stays suspended on the dead device, and its
        // WebAssembly module accepts no other run until then. Only a fresh page can continue.
        throw new EngineBrokenError(lostDuring.message.replace('was lost', 'was lost during a run'));
      }
      return this.switchToWasm(fallback, e as Error, ids, feeds, withLogits, intervention);
    }
  }

  private async switchToWasm(
    fallback: NonNullable<AttentionSession['webgpuFallback']>,
    why: Error,
    ids: readonly number[],
    feeds: Record<string, ort.Tensor>,
    withLogits: boolean,
    intervention?: Intervention,
  ): Promise<RunOutput> {
    void this.session.release().catch(() => undefined);
    this.session = await ort.InferenceSession.create(fallback.bytes, webOptions(fallback.externalData, 'wasm'));
    this.webgpuFallback = undefined;
    this.currentBackend = 'wasm';
    this.note = `WebGPU failed: ${why.message.replace(/\.\s*$/, '')}. Switched to WebAssembly for this model.`;
    return this.runOn(ids, feeds, withLogits, intervention);
  }

  private async runOn(
    ids: readonly number[],
    feeds: Record<string, ort.Tensor>,
    withLogits: boolean,
    intervention?: Intervention,
  ): Promise<RunOutput> {
    const logitsName = withLogits ? this.logitsOutput() : null;
    const out = await this.session.run(feeds, logitsName ? [...this.graph.fetches, logitsName] : this.graph.fetches);
    const n = ids.length;
    const layers: Float32Array[] = [];
    let heads = 0;
    for (const a of this.graph.attention) {
      const src = a.source;
      if (src.kind === 'softmax') {
        const t = out[src.output];
        const dims = t.dims;
        // [batch, heads, T, T]; heads come from the tensor itself, never from a config.
        if (dims.length !== 4 || dims[2] !== n || dims[3] !== n) {
          throw new Error(
            `attention output ${src.output} has shape [${dims.join(', ')}], expected [1, heads, ${n}, ${n}]`,
          );
        }
        heads = dims[1];
        layers.push(toFloat32(t));
      } else {
        const { q, k, mask } = fusedInputs(out, src);
        const r = fusedAttentionProbs(q, k, src.spec, mask);
        heads = r.heads;
        // The operator ran with the intervention; the probabilities recomputed here did not.
        if (intervention) applyToProbabilities(r.probs, r.heads, n, layers.length, intervention);
        layers.push(r.probs);
      }
    }
    this.heads = heads;
    return { layers, heads, ...(logitsName && { logits: logitsOf(out[logitsName], n) }) };
  }

  /** The logits output's name; a graph without one is named with the outputs it had. */
  private logitsOutput(): string {
    const name = this.graph.logits;
    if (!name) throw new Error(`predictions need the model's logits, and ${noLogitsReason(this.graph)}`);
    return name;
  }

  /**
   * The logits for `ids` ([T × vocabulary], and the vocabulary), from a graph prepared with
   * `logits: true`; a model without a logits output is named with the outputs it has.
   */
  async runLogits(
    ids: readonly number[],
    intervention?: Intervention,
  ): Promise<{ logits: Float32Array; vocabulary: number }> {
    const name = this.logitsOutput();
    const extra = await this.interventionInputs(ids, intervention);
    const out = await this.session.run(feedsFor(this.graph, ids, extra), [name]);
    const { data, vocabulary } = logitsOf(out[name], ids.length);
    return { logits: data, vocabulary };
  }

  /**
   * One layer's query and key vectors for `ids` (one window), for the query·key view: a run that
   * fetches the operands of the layer's score product (graph outputs since the surgery) instead
   * of the attention.
   */
  async runQueryKey(ids: readonly number[], layer: number): Promise<QueryKeyLayer> {
    const a = this.graph.attention[layer];
    if (!a) throw new RangeError(`layer ${layer} of ${this.graph.attention.length}`);
    const src = a.source;
    const feeds = feedsFor(this.graph, ids, await this.interventionInputs(ids));
    if (src.kind === 'fused') {
      const out = await this.session.run(feeds, [src.query, src.key, ...(src.mask ? [src.mask] : [])]);
      const { q, k, mask } = fusedInputs(out, src);
      return fusedQueryKey(q, k, src.spec, mask);
    }
    const scores = src.scores;
    if (typeof scores === 'string') throw new Error(`the query·key view cannot show this layer: ${scores}`);
    const out = await this.session.run(feeds, [scores.query, scores.key]);
    const q = out[scores.query];
    const k = out[scores.key];
    // [batch, heads, T, d] (or without the batch axis); the key as Kᵀ [.., d, T] or K [.., T, d].
    const [heads, queries, dim] = q.dims.slice(-3);
    const [kvHeads, kRows, kCols] = k.dims.slice(-3);
    const keys = scores.keyTransposed ? kCols : kRows;
    if (q.dims.length < 3 || k.dims.length < 3 || (scores.keyTransposed ? kRows : kCols) !== dim)
      throw new Error(`the score product's operands have shapes [${q.dims.join(', ')}] and [${k.dims.join(', ')}]`);
    let kData = toFloat32(k);
    if (scores.keyTransposed) {
      const t = new Float32Array(kData.length);
      for (let h = 0; h < kvHeads; h++)
        for (let d = 0; d < dim; d++)
          for (let j = 0; j < keys; j++) t[(h * keys + j) * dim + d] = kData[(h * dim + d) * keys + j];
      kData = t;
    }
    return {
      heads,
      kvHeads,
      dim,
      queries,
      keys,
      q: Float32Array.from(toFloat32(q)),
      k: kData === k.data ? Float32Array.from(kData) : kData,
      scale: scores.scale,
      mask: null,
      maskHeads: 1,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
