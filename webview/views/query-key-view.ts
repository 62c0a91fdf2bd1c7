import { windowIndices, type AttentionStore } from '../../src/common/attention-store';
import type { AttentionView, TokenInfo } from '../../src/common/protocol';
import { queryKeyRow, type QueryKeyLayer, type QueryKeyRow } from '../../src/common/query-key';
import { tokenLabel } from '../../src/common/token-display';
import type { Focus } from './focus';
import { sizedContext } from './canvas-size';
import { readTheme, rgba, type Theme } from './theme';

export interface QueryKeyViewState {
  tokens: TokenInfo[];
  store: AttentionStore;
  view: AttentionView;
  focus: Focus | null;
  /** Whole words are shown: a word has no query or key of its own (its tokens do). */
  words: boolean;
}

/** Asks the engine for one layer's query and key vectors for one window's token ids. */
export type QueryKeyLoader = (ids: number[], layer: number) => Promise<QueryKeyLayer>;

const ROW = 16;
const LABEL = 110;
const NUMBER = 64;
const BAR = 120;
const PAD = 6;
/** Vector components in two colours: negative and positive, the shade by magnitude. */
const NEGATIVE: [number, number, number] = [64, 140, 230];
const POSITIVE: [number, number, number] = [230, 120, 50];

interface Loaded {
  store: AttentionStore;
  window: number;
  layer: number;
  data: Promise<QueryKeyLayer>;
  settled?: QueryKeyLayer | Error;
}

/**
 * bertviz's neuron view for any model: for the focused query token and one head, the query
 * vector, every key vector in its window, the scores q·k × scale, what the model adds to them (the
 * mask), and their softmax — the attention itself. The vectors come from a run of the query's
 * window that fetches the layer's score product operands (engine: runQueryKey), once per window
 * and layer; then any head and query of them is drawn without running again.
 */
export class QueryKeyView {
  readonly element: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLDivElement;
  private loaded?: Loaded;

  constructor(
    private readonly load: QueryKeyLoader,
    /** Called when vectors arrive, to draw them. */
    private readonly redraw: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'query-key-view';
    this.caption = document.createElement('div');
    this.caption.className = 'query-key-caption';
    this.caption.setAttribute('role', 'status');
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.element.append(this.caption, this.canvas);
  }

  render(state: QueryKeyViewState): void {
    const { store, view, tokens } = state;
    const head = view.head;
    if (state.words) {
      this.say('The query·key view shows tokens, each with its own query and key: switch off Whole words to use it.');
      return;
    }
    if (typeof head !== 'number') {
      this.say(
        'The query·key view shows one head: choose a head in the Head picker (the mean, max and rollout have no query or key).',
      );
      return;
    }
    const query = state.focus?.index ?? tokens.length - 1;
    const w = store.windowOf(query);
    const windowIndex = store.windows.indexOf(w);
    const l = this.loaded;
    if (!l || l.store !== store || l.window !== windowIndex || l.layer !== view.layer) {
      const ids = windowIndices(w).map((i) => tokens[i].id);
      const loading: Loaded = { store, window: windowIndex, layer: view.layer, data: this.load(ids, view.layer) };
      this.loaded = loading;
      loading.data.then(
        (d) => (loading.settled = d),
        (e: Error) => (loading.settled = e),
      );
      void loading.data.catch(() => undefined).finally(() => this.loaded === loading && this.redraw());
    }
    const settled = this.loaded!.settled;
    if (!settled) {
      this.say(`Running layer ${view.layer} again for its query and key vectors…`);
      return;
    }
    if (settled instanceof Error) {
      this.say(`The query·key view cannot show this layer: ${settled.message}`, true);
      return;
    }
    const keys = windowIndices(w);
    const localQuery = keys.indexOf(query);
    const t = keys.length;
    const raw = w.layers[view.layer].subarray((head * t + localQuery) * t, (head * t + localQuery + 1) * t);
    const row = queryKeyRow(settled, head, localQuery, raw);
    const label = tokenLabel(tokens[query].text);
    const scaleText =
      Math.abs(settled.scale * Math.sqrt(settled.dim) - 1) < 1e-4
        ? `${settled.scale.toPrecision(3)} (1/√${settled.dim})`
        : settled.scale.toPrecision(3);
    this.caption.classList.remove('error');
    this.caption.textContent =
      `Layer ${view.layer}, head ${head} · query “${label}” (token ${query}${state.focus ? '' : ', the last: hover or pin another'}) · ` +
      `score = ${settled.softcap ? `${settled.softcap} · tanh(q·k × ${scaleText} / ${settled.softcap})` : `q·k × ${scaleText}`}, plus the mask${row.maskRecovered ? ' (recovered from the attention)' : ''}; its softmax is the attention.`;
    this.draw(row, keys, tokens, query);
  }

  private say(text: string, error = false): void {
    this.caption.textContent = text;
    this.caption.classList.toggle('error', error);
    this.canvas.width = 0;
    this.canvas.height = 0;
    this.canvas.style.height = '0px';
  }

  private draw(row: QueryKeyRow, keys: number[], tokens: TokenInfo[], query: number): void {
    const theme = readTheme();
    const dim = row.q.length;
    // The vectors get what the panel's width leaves beside the labels, numbers and bars.
    const available = Math.max(360, document.body.clientWidth - 32);
    const budget = Math.min(256, available - (PAD + LABEL + 8 + 2 * NUMBER + 14 + BAR + 50));
    const cell = Math.max(1, Math.min(10, Math.floor(budget / dim)));
    const strip = cell * dim;
    const x0 = PAD + LABEL;
    const xScore = x0 + strip + 8;
    const xMask = xScore + NUMBER;
    const xBar = xMask + NUMBER + 14;
    const width = xBar + BAR + 50;
    const height = PAD * 2 + (keys.length + 2) * ROW;
    const dpr = Math.min(window.devicePixelRatio || 1, 32000 / height);
    const ctx = sizedContext(this.canvas, width, height, dpr);
    if (!ctx) return;
    this.canvas.setAttribute(
      'aria-label',
      `Query·key view for token ${query}: the query vector, then one row per key with its vector, score, mask and attention weight`,
    );
    ctx.font = `11px ${theme.editorFont}`;
    ctx.textBaseline = 'middle';
    // One scale for the query and every key: their components compare across rows.
    let biggest = 1e-9;
    for (const v of [row.q, ...row.k]) for (const x of v) biggest = Math.max(biggest, Math.abs(x));
    const vector = (v: Float32Array, y: number): void => {
      for (let d = 0; d < dim; d++) {
        ctx.fillStyle = rgba(v[d] < 0 ? NEGATIVE : POSITIVE, Math.sqrt(Math.abs(v[d]) / biggest));
        ctx.fillRect(x0 + d * cell, y + 2, cell, ROW - 4);
      }
    };
    const text = (s: string, x: number, y: number, colour: string, align: CanvasTextAlign = 'left'): void => {
      ctx.fillStyle = colour;
      ctx.textAlign = align;
      ctx.fillText(s, x, y + ROW / 2);
    };

    let y = PAD;
    text(`q  ${tokenLabel(tokens[query].text).slice(0, 12)}`, PAD, y, theme.foreground);
    vector(row.q, y);
    text('q·k×scale', xScore + NUMBER - 6, y, theme.muted, 'right');
    text('mask', xMask + NUMBER - 6, y, theme.muted, 'right');
    text('softmax = attention', xBar, y, theme.muted);
    y += ROW * 2;
    keys.forEach((key, j) => {
      if (key === query) {
        ctx.fillStyle = rgba(theme.accent, 0.12);
        ctx.fillRect(0, y, width, ROW);
      }
      const masked = row.mask[j] === -Infinity;
      const colour = masked ? theme.muted : theme.foreground;
      text(tokenLabel(tokens[key].text).slice(0, 14), PAD + LABEL - 6, y, colour, 'right');
      vector(row.k[j], y);
      text(row.scores[j].toFixed(2), xScore + NUMBER - 6, y, colour, 'right');
      const m = row.mask[j];
      text(masked ? '−∞' : Math.abs(m) < 5e-4 ? '0' : m.toFixed(2), xMask + NUMBER - 6, y, colour, 'right');
      this.bar(ctx, theme, xBar, y, row.probabilities[j]);
      y += ROW;
    });
  }

  private bar(ctx: CanvasRenderingContext2D, theme: Theme, x: number, y: number, p: number): void {
    ctx.fillStyle = rgba(theme.accent, 0.85);
    ctx.fillRect(x, y + 3, Math.max(p > 0 ? 1 : 0, BAR * p), ROW - 6);
    ctx.fillStyle = theme.muted;
    ctx.textAlign = 'left';
    ctx.fillText(p.toFixed(3), x + BAR + 4, y + ROW / 2);
  }
}
