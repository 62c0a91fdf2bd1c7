import type { AttentionStore } from '../../src/common/attention-store';
import { headDifferences, pairedMatrices } from '../../src/common/compare';
import { headLabel, type AttentionView, type TokenInfo } from '../../src/common/protocol';
import { cellAlpha } from '../../src/common/shading';
import { readTheme, rgba } from './theme';

/** One side of a comparison: a result as the page keeps it (tokens, not words). */
export interface CompareSide {
  tokens: TokenInfo[];
  store: AttentionStore;
  /** Where its text came from, and the model. */
  source: string;
  model: string;
}

export interface CompareShown {
  /** The result before (null: none yet) and the one shown now; or why they cannot be compared. */
  before: CompareSide | null;
  now: CompareSide;
  pairs: [number, number][];
  refusal: string | null;
  view: AttentionView;
}

/** Side of each of the three pictures (CSS pixels). */
const PICTURE = 220;

/**
 * Compare: the result shown before this one and this one (the text before and after an edit, or
 * another text) — every head's difference over the tokens they share as a grid (a click shows that
 * head), and for the head chosen, the two matrices over the shared tokens and their difference.
 */
export class CompareView {
  readonly element = document.createElement('div');
  /** Every head's difference, computed once per pair of results. */
  private differences?: { before: AttentionStore; now: AttentionStore; values: Float64Array };

  constructor(private readonly onPick: (view: AttentionView) => void) {
    this.element.className = 'compare-view';
  }

  /** What was last drawn: a redraw for a hover elsewhere in the panel changes nothing here. */
  private drawn?: { before: CompareSide | null; now: CompareSide; refusal: string | null; view: string };

  render(s: CompareShown): void {
    const { before, now } = s;
    const key = { before, now, refusal: s.refusal, view: JSON.stringify(s.view) };
    const d = this.drawn;
    if (d && d.before === key.before && d.now === key.now && d.refusal === key.refusal && d.view === key.view) return;
    this.drawn = key;
    if (!before) {
      this.element.replaceChildren(
        caption(
          'Nothing to compare yet: run Show Attention again — after an edit, or on other text — and this result is kept to compare with.',
        ),
      );
      return;
    }
    if (s.refusal) {
      this.element.replaceChildren(caption(`Cannot compare: ${s.refusal}.`, 'compare-refusal'));
      return;
    }
    const shared = s.pairs.length;
    // The models are named when they differ (the same text under two models).
    const named = (side: CompareSide): string =>
      before.model !== now.model ? `${side.source}, ${side.model}` : side.source;
    const head = caption(
      `Now: ${named(now)} (${now.tokens.length} tokens) · before: ${named(before)} (${before.tokens.length} tokens) · ${shared} tokens in common. ` +
        'Each head’s difference is how far its rows moved over the shared tokens (total variation, 0–1).',
      'compare-caption',
    );
    if (this.differences?.before !== before.store || this.differences.now !== now.store)
      this.differences = {
        before: before.store,
        now: now.store,
        values: headDifferences(before.store, now.store, s.pairs),
      };
    this.element.replaceChildren(head, this.grid(now.store, this.differences.values, s.view), this.pictures(s));
  }

  private grid(store: AttentionStore, values: Float64Array, view: AttentionView): HTMLElement {
    const theme = readTheme();
    const table = document.createElement('table');
    table.className = 'compare-grid';
    const top = table.createTHead().insertRow();
    top.insertCell();
    for (let h = 0; h < store.heads; h++) top.insertCell().textContent = `H${h}`;
    const body = table.createTBody();
    const largest = Math.max(1e-9, ...values);
    for (let l = 0; l < store.layers; l++) {
      const tr = body.insertRow();
      tr.insertCell().textContent = `L${l}`;
      for (let h = 0; h < store.heads; h++) {
        const v = values[l * store.heads + h];
        const td = tr.insertCell();
        td.className = 'compare-cell';
        td.dataset.layer = String(l);
        td.dataset.head = String(h);
        td.textContent = v.toFixed(2);
        td.title = `Layer ${l}, head ${h}: rows moved by ${v.toFixed(3)} on average; click to see it`;
        td.style.background = rgba(theme.surprise, 0.08 + 0.8 * (v / largest));
        if (view.layer === l && view.head === h) td.classList.add('current');
        td.addEventListener('click', () => this.onPick({ layer: l, head: h }));
      }
    }
    return table;
  }

  /** The chosen head (or aggregate) before and now over the shared tokens, and now − before. */
  private pictures(s: CompareShown): HTMLElement {
    const box = document.createElement('div');
    box.className = 'compare-pictures';
    const { layer, head } = s.view;
    const m = pairedMatrices(s.before!.store, s.now.store, s.pairs, layer, head);
    const theme = readTheme();
    const n = s.pairs.length;
    const figure = (title: string, draw: (v: number) => [[number, number, number], number], data: Float32Array) => {
      const f = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.width = n;
      canvas.height = n;
      canvas.style.width = canvas.style.height = `${PICTURE}px`;
      canvas.style.imageRendering = 'pixelated';
      const ctx = canvas.getContext('2d');
      if (ctx && n > 0) {
        const img = new ImageData(n, n);
        data.forEach((v, i) => {
          const [[r, g, b], a] = draw(v);
          img.data.set([r, g, b, Math.round(255 * a)], i * 4);
        });
        ctx.putImageData(img, 0, 0);
      }
      const cap = document.createElement('figcaption');
      cap.textContent = title;
      f.append(canvas, cap);
      return f;
    };
    const name = `layer ${layer}, ${headLabel(head)}`;
    box.append(
      figure(`Before (${name})`, (v) => [theme.accent, cellAlpha(v)], m.before),
      figure(`Now (${name})`, (v) => [theme.accent, cellAlpha(v)], m.now),
      figure(
        'Now − before (orange: more attention now, blue: less)',
        (v) => [v >= 0 ? theme.surprise : theme.accent, cellAlpha(Math.abs(v))],
        m.difference,
      ),
    );
    return box;
  }
}

function caption(text: string, className = 'compare-empty'): HTMLElement {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}
