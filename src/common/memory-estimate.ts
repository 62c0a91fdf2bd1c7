/**
 * Whether a model will fit before anything is downloaded or loaded. onnxruntime-web's WebAssembly
 * build has a 32-bit heap: at most 4 GiB, which must hold the weights (the graph and its external
 * data are copied in), the attention outputs of one window's run and the runtime's working memory.
 * A model that does not fit crashes the panel's worker half-way through a load; this is the
 * estimate that refuses it first, with a variant or a maxTokens that fits.
 */

/** The WebAssembly heap onnxruntime-web can address. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;
/**
 * A margin for the runtime itself, its arena and a run's other activations, beside the weights and
 * the attention (a round figure, not measured per model: the estimate is a lower bound).
 */
const WORKING_BYTES = 256 * 1024 ** 2;

export interface ModelShapeGuess {
  layers: number;
  heads: number;
  /** The model's context, if config.json says (a window never holds more tokens). */
  context?: number;
}

export interface MemoryEstimate {
  weights: number;
  /** One window's attention outputs: layers × heads × T² float32 values. */
  attention: number;
  total: number;
  limit: number;
  fits: boolean;
  /** The tokens per window the estimate was made for. */
  tokens: number;
}

/** The number of layers and heads config.json declares, under any of the names the families use. */
export function shapeFromConfig(configJson: string | null | undefined): ModelShapeGuess | undefined {
  if (!configJson) return undefined;
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(configJson) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  // Encoder-decoder and multimodal configs nest the language model's.
  for (const key of ['text_config', 'language_config', 'llm_config']) {
    const inner = c[key];
    if (typeof inner === 'object' && inner !== null) return shapeFromConfig(JSON.stringify(inner));
  }
  const first = (...keys: string[]): number | undefined => {
    for (const k of keys)
      if (typeof c[k] === 'number' && Number.isInteger(c[k]) && (c[k] as number) > 0) return c[k] as number;
    return undefined;
  };
  const layers = first('num_hidden_layers', 'n_layer', 'num_layers', 'n_layers', 'encoder_layers');
  const heads = first('num_attention_heads', 'n_head', 'num_heads', 'n_heads', 'encoder_attention_heads');
  if (!layers || !heads) return undefined;
  const context = first('max_position_embeddings', 'n_positions', 'n_ctx', 'max_sequence_length');
  return { layers, heads, context };
}

/** The tokens one window holds: maxTokens, or the model's context when it is smaller. */
export function windowTokens(shape: ModelShapeGuess, maxTokens: number): number {
  return shape.context ? Math.min(shape.context, maxTokens) : maxTokens;
}

export function estimateMemory(
  weightBytes: number,
  shape: ModelShapeGuess,
  tokens: number,
  limit = WASM_HEAP_BYTES,
): MemoryEstimate {
  const attention = shape.layers * shape.heads * tokens * tokens * 4;
  const total = weightBytes + attention + WORKING_BYTES;
  return { weights: weightBytes, attention, total, limit, fits: total <= limit, tokens };
}

/** The most tokens per window that fit beside these weights (0: the weights alone do not fit). */
export function tokensThatFit(weightBytes: number, shape: ModelShapeGuess, limit = WASM_HEAP_BYTES): number {
  const room = limit - weightBytes - WORKING_BYTES;
  if (room <= 0) return 0;
  return Math.floor(Math.sqrt(room / (shape.layers * shape.heads * 4)));
}

/** MB below a GiB (a small model's figures would all read 0.0 GiB), GiB above. */
export function formatBytes(n: number): string {
  return n < 1024 ** 3 ? `${Math.max(1, Math.round(n / 1024 ** 2))} MB` : `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** One line for a user, the total first: what the load needs against what the backend holds. */
export function describeEstimate(e: MemoryEstimate): string {
  return `needs about ${formatBytes(e.total)} of WebAssembly's ${formatBytes(e.limit)} (weights ${formatBytes(e.weights)}, attention of ${e.tokens} tokens ${formatBytes(e.attention)})`;
}
