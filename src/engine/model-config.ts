/**
 * The model's context length, from the files the Hub layout puts beside the graph:
 * `config.json` first, then `tokenizer_config.json`'s model_max_length, else a default.
 */
const CONFIG_KEYS = ['max_position_embeddings', 'n_positions', 'n_ctx', 'max_seq_len', 'seq_length'];
const DEFAULT_CONTEXT = 512;

function parseObject(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function contextLength(configJson?: string, tokenizerConfigJson?: string): number {
  const config = parseObject(configJson);
  for (const k of CONFIG_KEYS) {
    const v = config[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  const tc = parseObject(tokenizerConfigJson).model_max_length;
  if (typeof tc === 'number' && Number.isInteger(tc) && tc > 0 && tc < 1_000_000) return tc;
  return DEFAULT_CONTEXT;
}
