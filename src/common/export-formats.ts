import type { AttentionStore } from './attention-store';
import type { HeadChoice, TokenInfo } from './protocol';
import { modelShape } from './model-shape';

/** What Export Attention… writes. */
export type ExportFormat = 'png' | 'svg' | 'json' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'json', 'csv'];

/**
 * The most weights a JSON export holds (every layer × head × query × key): above it the file
 * would pass 100 MB, more than an editor or a notebook opens comfortably.
 */
export const JSON_MAX_WEIGHTS = 12_000_000;

/** Weights are written to 6 decimals: float32 carries about 7 significant digits. */
const num = (w: number): string => (w === 0 ? '0' : String(Number(w.toFixed(6))));

/**
 * Every layer and head as the CLI prints it: {"tokens":[{id,text,start,end}],
 * "layers":[names], "attentions":[layer][head][query][key]} (keys outside a query's window are 0).
 */
export function attentionJson(
  tokens: readonly TokenInfo[],
  layerNames: readonly string[],
  store: AttentionStore,
): string {
  const n = store.tokens;
  const weights = store.layers * store.heads * n * n;
  if (weights > JSON_MAX_WEIGHTS) {
    throw new Error(
      `${modelShape(store.layers, store.heads)} × ${n}² tokens is ${(weights / 1e6).toFixed(0)} million ` +
        `weights, over ${JSON_MAX_WEIGHTS / 1e6} million for one JSON file: export one head as CSV, or analyse less text`,
    );
  }
  const parts: string[] = [];
  for (let l = 0; l < store.layers; l++) {
    const heads: string[] = [];
    for (let h = 0; h < store.heads; h++) {
      const rows: string[] = [];
      for (let q = 0; q < n; q++) rows.push(`[${Array.from(store.denseRow(l, h, q), num).join(',')}]`);
      heads.push(`[${rows.join(',')}]`);
    }
    parts.push(`[${heads.join(',')}]`);
  }
  const head = JSON.stringify({
    tokens: tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end })),
    layers: layerNames,
  });
  return `${head.slice(0, -1)},"attentions":[${parts.join(',')}]}\n`;
}

/** A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function field(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One layer/head choice as a matrix: a header row of the keys' tokens, then one row per query
 * (its token, then its weight on each key). Tokens are written as in the text, prefixed with
 * their index so that repeated tokens stay apart.
 */
export function matrixCsv(
  tokens: readonly TokenInfo[],
  store: AttentionStore,
  layer: number,
  head: HeadChoice,
): string {
  const label = (i: number): string => field(`${i}:${tokens[i].text}`);
  const lines = [['query \\ key', ...tokens.map((_, i) => label(i))].join(',')];
  for (let q = 0; q < store.tokens; q++)
    lines.push([label(q), ...Array.from(store.denseRow(layer, head, q), num)].join(','));
  return `${lines.join('\r\n')}\r\n`;
}
