import type { EngineResult } from '../src/engine/model-engine';
import { modelShape } from '../src/common/model-shape';

export interface RunNotice {
  kind: 'info' | 'warning';
  text: string;
}

/** The header line of a result: model, backend, time, size, kind of attention. */
export function runSummary(r: EngineResult & { wordMap?: Int32Array }): string {
  const m = r.model;
  const attention = m.causal ? 'causal (decoder): each token sees only earlier ones' : 'full (encoder) attention';
  // Whole words: how many words, and the tokens they were merged from.
  const size = r.wordMap ? `${r.tokens.length} words of ${r.wordMap.length} tokens` : `${r.tokens.length} tokens`;
  return `${m.name} · ${r.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'} · ${r.runMs.toFixed(0)} ms · ${size} · ${modelShape(m.layers, m.heads)} · ${attention}`;
}

/** What the panel says above a result: stale text, the backend's note, text left out, windows. */
export function runNotices(r: EngineResult, stale: boolean): RunNotice[] {
  const list: RunNotice[] = [];
  if (stale)
    list.push({
      kind: 'warning',
      text: 'The text changed since this analysis: the attention shown is for the old text. Run Show Attention again to refresh.',
    });
  if (r.backendNote) list.push({ kind: 'warning', text: r.backendNote });
  if (r.truncated) {
    list.push({
      kind: 'warning',
      text: `Only the first ${r.tokens.length} tokens were analysed (attentionExplorer.maxTokens); the rest of the selection was left out.`,
    });
  }
  if (r.offsetsNote) {
    list.push({
      kind: 'info',
      text: `The tokens' places in the text are approximate (${r.offsetsNote}): hover and shading may be off by a few characters.`,
    });
  }
  if (r.predictionsNote) list.push({ kind: 'warning', text: r.predictionsNote });
  if (r.windows > 1) {
    // The specials the windows were given again, as the engine planned them.
    const named = (side: 'lead' | 'trail'): string =>
      (r.store.windows.find((w) => w[side]?.length)?.[side] ?? []).map((i) => r.tokens[i].text).join(' ');
    const opens = named('lead') && `begins with ${named('lead')}`;
    const closes = named('trail') && `ends with ${named('trail')}`;
    const again =
      opens || closes ? ` Every window ${[opens, closes].filter(Boolean).join(' and ')}, as the model expects.` : '';
    list.push({
      kind: 'info',
      text: `The text is longer than the model's ${r.model.context}-token context: it was analysed in ${r.windows} windows overlapping by a quarter; attention never crosses a window.${again}`,
    });
  }
  return list;
}
