import type { AttentionStore } from '../../src/common/attention-store';
import type { AttentionView, TokenInfo } from '../../src/common/protocol';
import { focusLast, type Focus } from './focus';
import { tokenLabel } from '../../src/common/token-display';
import { sizedContext } from './canvas-size';
import { headColour, readTheme, rgba, type Theme } from './theme';
import { MARK_MIN, shadeStep, TINT_MIN, tintAlpha } from '../../src/common/shading';

const ROW = 18;
const GAP = 150;
const PAD = 8;
/** Line opacities: each step is one path, stroked once. */
const STEPS = 10;

export interface HeadViewState {
  tokens: TokenInfo[];
  store: AttentionStore;
  view: AttentionView;
  /** Draw every head of the layer in its own colour instead of the chosen head or aggregate. */
  colourByHead: boolean;
  focus: Focus | null;
}

/**
 * bertviz's head view on one canvas: queries on the left, keys on the right, a line per
 * (query, key) whose opacity is the weight. Lines are batched per opacity step, one path each,
 * so a 1,024-token view paints in one pass.
 */
export class HeadView {
  readonly element: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private state?: HeadViewState;
  private labelWidth = 80;
  private measured?: { tokens: TokenInfo[]; font: string; labels: string[]; width: number };

  constructor(
    private readonly onFocus: (index: number, side: 'query' | 'key', click: boolean) => void,
    private readonly onLeave: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'head-view';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-label', 'Head view: queries on the left, keys on the right');
    this.element.append(this.canvas);
    this.canvas.addEventListener('mousemove', (e) => this.pointer(e, false));
    this.canvas.addEventListener('click', (e) => this.pointer(e, true));
    this.canvas.addEventListener('mouseleave', () => this.onLeave());
    // The labels of rows scrolled into sight are drawn then (once a frame).
    let pending = false;
    this.element.addEventListener('scroll', () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (this.state) this.render(this.state);
      });
    });
  }

  private pointer(e: MouseEvent, click: boolean): void {
    if (!this.state) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const i = Math.floor((y - PAD) / ROW);
    if (i < 0 || i >= this.state.tokens.length) return;
    const mid = PAD + this.labelWidth + GAP / 2;
    this.onFocus(i, x < mid ? 'query' : 'key', click);
  }

  /** Scrolls so that a token's row is visible. */
  reveal(index: number): void {
    const top = PAD + index * ROW;
    const box = this.element;
    if (top < box.scrollTop || top + ROW > box.scrollTop + box.clientHeight) box.scrollTop = top - box.clientHeight / 2;
  }

  /** The whole view, every label drawn (for an export: on screen only the visible rows' labels are). */
  exportCanvas(): HTMLCanvasElement {
    if (this.state) this.render(this.state, true);
    return this.canvas;
  }

  /**
   * Draws the view. The lines are all drawn; the labels only for the rows in sight (and a margin)
   * unless `everything`: at 1,024 tokens, 2,048 labels were most of a hover's redraw. Scrolling
   * draws the rows that come into sight.
   */
  render(state: HeadViewState, everything = false): void {
    this.state = state;
    const theme = readTheme();
    const n = state.tokens.length;
    const ctx0 = this.canvas.getContext('2d');
    if (!ctx0) return;
    const font = `12px ${theme.editorFont}`;
    // The labels and their width, measured once per result (1,024 measurements cost a hover ~2 ms).
    if (this.measured?.tokens !== state.tokens || this.measured.font !== font) {
      ctx0.font = font;
      const labels = state.tokens.map((t) => tokenLabel(t.text));
      const width = Math.min(200, Math.max(40, ...labels.map((l) => ctx0.measureText(l).width))) + 8;
      this.measured = { tokens: state.tokens, font, labels, width };
    }
    const labels = this.measured.labels;
    this.labelWidth = this.measured.width;
    const width = PAD * 2 + this.labelWidth * 2 + GAP;
    const height = PAD * 2 + n * ROW;
    // Keep the backing store under the browser's canvas limit at high token counts.
    const dpr = Math.min(window.devicePixelRatio || 1, 32000 / height);
    const ctx = sizedContext(this.canvas, width, height, dpr);
    if (!ctx) return;
    ctx.font = font;
    this.drawLines(ctx, state, theme);
    const box = this.element;
    const seen = everything || !box.clientHeight ? { from: 0, to: n } : visibleRows(box.scrollTop, box.clientHeight, n);
    this.drawLabels(ctx, state, labels, theme, seen);
  }

  private drawLines(ctx: CanvasRenderingContext2D, s: HeadViewState, theme: Theme): void {
    const x0 = PAD + this.labelWidth + 2;
    const x1 = PAD + this.labelWidth + GAP - 2;
    const y = (i: number): number => PAD + i * ROW + ROW / 2;
    const n = s.tokens.length;
    const heads = s.colourByHead ? Array.from({ length: s.store.heads }, (_, h) => h) : [s.view.head];
    const focus = s.focus;
    for (const head of heads) {
      const colour = s.colourByHead && typeof head === 'number' ? headColour(head) : theme.accent;
      const buckets: Path2D[] = Array.from({ length: STEPS }, () => new Path2D());
      const add = (q: number, k: number, w: number): void => {
        if (w < MARK_MIN) return;
        const b = shadeStep(w, STEPS);
        buckets[b].moveTo(x0, y(q));
        buckets[b].lineTo(x1, y(k));
      };
      const queries =
        focus?.side === 'query'
          ? Array.from({ length: focusLast(focus) - focus.index + 1 }, (_, i) => focus.index + i)
          : Array.from({ length: n }, (_, i) => i);
      for (const q of queries) {
        const { keyStart, weights } = s.store.row(s.view.layer, head, q);
        for (let j = 0; j < weights.length; j++) {
          if (focus?.side === 'key' && keyStart + j !== focus.index) continue;
          add(q, keyStart + j, weights[j]);
        }
      }
      ctx.lineWidth = focus ? 2 : 1.25;
      buckets.forEach((p, b) => {
        ctx.strokeStyle = rgba(colour, (s.colourByHead ? 0.75 : 1) * tintAlpha((b + 0.5) / STEPS, 0.12));
        ctx.stroke(p);
      });
    }
  }

  private drawLabels(
    ctx: CanvasRenderingContext2D,
    s: HeadViewState,
    labels: string[],
    theme: Theme,
    seen: { from: number; to: number },
  ): void {
    const focus = s.focus;
    const { layer, head } = s.view;
    const weights = !focus
      ? undefined
      : focus.side === 'query'
        ? s.store.rowsSum(layer, head, focus.index, focusLast(focus))
        : s.store.column(layer, head, focus.index);
    ctx.textBaseline = 'middle';
    const leftX = PAD + this.labelWidth - 4;
    const rightX = PAD + this.labelWidth + GAP + 4;
    labels.forEach((label, i) => {
      if (i < seen.from || i >= seen.to) return;
      const y = PAD + i * ROW;
      // Shade the other column by the focused token's weights.
      if (weights && weights[i] > TINT_MIN) {
        ctx.fillStyle = rgba(theme.accent, tintAlpha(weights[i], 0.15));
        if (focus!.side === 'query') ctx.fillRect(rightX - 2, y + 1, this.labelWidth, ROW - 2);
        else ctx.fillRect(PAD, y + 1, this.labelWidth - 2, ROW - 2);
      }
      ctx.fillStyle = s.tokens[i].special ? theme.muted : theme.foreground;
      ctx.textAlign = 'right';
      ctx.fillText(label, leftX, y + ROW / 2);
      ctx.textAlign = 'left';
      ctx.fillText(label, rightX, y + ROW / 2);
    });
    if (focus) {
      const y = PAD + focus.index * ROW;
      const h = (focusLast(focus) - focus.index + 1) * ROW;
      ctx.strokeStyle = theme.focus;
      ctx.lineWidth = focus.pinned ? 2 : 1;
      if (focus.side === 'query') ctx.strokeRect(PAD, y + 1, this.labelWidth - 2, h - 2);
      else ctx.strokeRect(rightX - 2, y + 1, this.labelWidth, ROW - 2);
    }
  }
}

/** The rows a scroll box shows, with a screen's margin either side. */
function visibleRows(scrollTop: number, height: number, n: number): { from: number; to: number } {
  const from = Math.max(0, Math.floor((scrollTop - height - PAD) / ROW));
  return { from, to: Math.min(n, Math.ceil((scrollTop + 2 * height - PAD) / ROW)) };
}
