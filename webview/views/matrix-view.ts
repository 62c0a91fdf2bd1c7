import type { AttentionStore } from '../../src/common/attention-store';
import type { AttentionView, TokenInfo } from '../../src/common/protocol';
import { focusLast, type Focus } from './focus';
import { visibleToken } from '../../src/common/token-display';
import { placeTip } from './tip';
import { sizedContext } from './canvas-size';
import { readTheme, rgba } from './theme';
import { cellAlpha } from '../../src/common/shading';

const LABEL_ROOM = 90;

export interface MatrixViewState {
  tokens: TokenInfo[];
  store: AttentionStore;
  view: AttentionView;
  focus: Focus | null;
}

/**
 * The query × key heatmap of one head or an aggregate. Pixels are written straight from the
 * attention rows into an ImageData (one pixel per cell) and scaled up without smoothing.
 */
export class MatrixView {
  readonly element: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLDivElement;
  private state?: MatrixViewState;
  private geometry = { x: 0, y: 0, cell: 1 };

  constructor(
    private readonly onFocus: (index: number, side: 'query' | 'key', click: boolean) => void,
    private readonly onLeave: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'matrix-view';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-label', 'Attention matrix: queries down, keys across');
    this.tip = document.createElement('div');
    this.tip.className = 'matrix-tip';
    this.tip.hidden = true;
    this.element.append(this.canvas, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.pointer(e, false));
    this.canvas.addEventListener('click', (e) => this.pointer(e, true));
    this.canvas.addEventListener('mouseleave', () => {
      this.tip.hidden = true;
      this.onLeave();
    });
  }

  private cellAt(e: MouseEvent): { q: number; k: number } | undefined {
    const rect = this.canvas.getBoundingClientRect();
    const { x, y, cell } = this.geometry;
    const n = this.state?.tokens.length ?? 0;
    const k = Math.floor((e.clientX - rect.left - x) / cell);
    const q = Math.floor((e.clientY - rect.top - y) / cell);
    return q >= 0 && k >= 0 && q < n && k < n ? { q, k } : undefined;
  }

  private pointer(e: MouseEvent, click: boolean): void {
    const s = this.state;
    const c = this.cellAt(e);
    if (!s || !c) {
      this.tip.hidden = true;
      return;
    }
    const w = s.store.weight(s.view.layer, s.view.head, c.q, c.k);
    this.tip.hidden = false;
    this.tip.textContent = `${visibleToken(s.tokens[c.q].text)} → ${visibleToken(s.tokens[c.k].text)}: ${w.toFixed(3)}`;
    placeTip(this.tip, this.element, e);
    this.onFocus(c.q, 'query', click);
  }

  private cached?: {
    store: AttentionStore;
    layer: number;
    head: AttentionView['head'];
    accent: string;
    canvas: HTMLCanvasElement;
  };

  /**
   * One pixel per cell, written from the rows, kept while the result, layer, head and colour stay:
   * a hover only moves the outline (rewriting a million cells took 24–78 ms a hover at 1,024 tokens).
   */
  private cells(state: MatrixViewState, accent: [number, number, number]): HTMLCanvasElement {
    const { store, view } = state;
    const key = accent.join(',');
    const c = this.cached;
    if (c && c.store === store && c.layer === view.layer && c.head === view.head && c.accent === key) return c.canvas;
    const n = state.tokens.length;
    const img = new ImageData(n, n);
    const [r, g, b] = accent;
    for (let q = 0; q < n; q++) {
      const { keyStart, weights } = store.row(view.layer, view.head, q);
      for (let j = 0; j < weights.length; j++) {
        const at = (q * n + keyStart + j) * 4;
        img.data[at] = r;
        img.data[at + 1] = g;
        img.data[at + 2] = b;
        img.data[at + 3] = Math.round(255 * cellAlpha(weights[j]));
      }
    }
    const canvas = document.createElement('canvas');
    canvas.width = n;
    canvas.height = n;
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    this.cached = { store, layer: view.layer, head: view.head, accent: key, canvas };
    return canvas;
  }

  render(state: MatrixViewState): void {
    this.state = state;
    const theme = readTheme();
    const n = state.tokens.length;
    const avail = Math.max(240, Math.min(900, (this.element.clientWidth || 640) - 8));
    const labelled = avail / n >= 9;
    const room = labelled ? LABEL_ROOM : 4;
    const cell = Math.max(1, (avail - room) / n);
    const size = room + cell * n;
    this.geometry = { x: room, y: room, cell };
    const dpr = Math.min(window.devicePixelRatio || 1, 8000 / size);
    const ctx = sizedContext(this.canvas, size, size, dpr);
    if (!ctx) return;

    const off = this.cells(state, theme.accent);
    ctx.imageSmoothingEnabled = false;
    ctx.strokeStyle = rgba([128, 128, 128], 0.35);
    ctx.strokeRect(room - 0.5, room - 0.5, cell * n + 1, cell * n + 1);
    ctx.drawImage(off, room, room, cell * n, cell * n);

    if (state.focus) {
      const i = state.focus.index;
      ctx.strokeStyle = theme.focus;
      ctx.lineWidth = state.focus.pinned ? 2 : 1;
      const rows = focusLast(state.focus) - i + 1;
      if (state.focus.side === 'query') ctx.strokeRect(room, room + i * cell, cell * n, cell * rows);
      else ctx.strokeRect(room + i * cell, room, cell, cell * n);
    }
    if (labelled) {
      ctx.fillStyle = theme.foreground;
      ctx.font = `${Math.min(12, cell - 1)}px ${theme.editorFont}`;
      ctx.textBaseline = 'middle';
      state.tokens.forEach((t, i) => {
        const label = visibleToken(t.text).slice(0, 10);
        ctx.textAlign = 'right';
        ctx.fillText(label, room - 4, room + i * cell + cell / 2);
        ctx.save();
        ctx.translate(room + i * cell + cell / 2, room - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left';
        ctx.fillText(label, 0, 0);
        ctx.restore();
      });
    }
  }
}
