import type { AttentionStore } from '../../src/common/attention-store';
import type { AttentionView, TokenInfo } from '../../src/common/protocol';
import { allThumbnails, gridGeometry, gridHit, type GridGeometry } from '../../src/common/model-grid';
import { cellAlpha } from '../../src/common/shading';
import { visibleToken } from '../../src/common/token-display';
import { focusLast, type Focus } from './focus';
import { placeTip } from './tip';
import { sizedContext } from './canvas-size';
import { readTheme, rgba } from './theme';

export interface ModelViewState {
  tokens: TokenInfo[];
  store: AttentionStore;
  view: AttentionView;
  focus: Focus | null;
  /** Heads an intervention knocks out (chosen, or in the run shown): crossed out. */
  knockedOut?: { layer: number; head: number }[];
}

/** The pictures of one result at one size, kept while only the focus or the chosen head changes. */
interface Atlas {
  store: AttentionStore;
  size: number;
  accent: string;
  /** Every head's picture side by side: `heads × size` wide, `layers × size` tall, one pixel per cell. */
  canvas: HTMLCanvasElement;
}

/** The atlas's cells per picture side: the picture's device pixels, at most the tokens, within the canvas limit. */
function cellsPerThumb(g: GridGeometry, tokens: number, layers: number, heads: number): number {
  const device = Math.ceil(g.thumb * (window.devicePixelRatio || 1));
  return Math.max(1, Math.min(tokens, device, Math.floor(8192 / Math.max(layers, heads))));
}

/**
 * bertviz's model view: every layer × head as a small picture of its attention matrix (queries
 * down, keys across), one row per layer. The pictures are computed once per result from the typed
 * arrays into one atlas canvas; a hover only redraws the atlas and the focus marks over it.
 */
export class ModelView {
  readonly element: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLDivElement;
  private state?: ModelViewState;
  private geometry?: GridGeometry;
  private atlas?: Atlas;
  /** How long the last atlas took to compute and the last paint, for the benchmark. */
  timings = { atlasMs: 0, paintMs: 0 };

  constructor(
    private readonly onFocus: (index: number, side: 'query' | 'key', click: boolean) => void,
    private readonly onLeave: () => void,
    private readonly onPick: (view: AttentionView) => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'model-view';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute(
      'aria-label',
      'Model view: every layer (rows) and head (columns), queries down and keys across; click a head to open it in the head view',
    );
    this.canvas.setAttribute('role', 'img');
    this.tip = document.createElement('div');
    this.tip.className = 'matrix-tip';
    this.tip.hidden = true;
    this.element.append(this.canvas, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.pointer(e));
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hitAt(e);
      if (hit) this.onPick({ layer: hit.layer, head: hit.head });
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.tip.hidden = true;
      this.onLeave();
    });
  }

  private hitAt(e: MouseEvent): ReturnType<typeof gridHit> {
    const s = this.state;
    const g = this.geometry;
    if (!s || !g) return null;
    const rect = this.canvas.getBoundingClientRect();
    return gridHit(g, s.store.layers, s.store.heads, s.tokens.length, e.clientX - rect.left, e.clientY - rect.top);
  }

  private pointer(e: MouseEvent): void {
    const s = this.state;
    const hit = this.hitAt(e);
    if (!s || !hit) {
      this.tip.hidden = true;
      return;
    }
    const w = s.store.weight(hit.layer, hit.head, hit.query, hit.key);
    this.tip.hidden = false;
    this.tip.textContent = `layer ${hit.layer}, head ${hit.head}\n${visibleToken(s.tokens[hit.query].text)} → ${visibleToken(s.tokens[hit.key].text)}: ${w.toFixed(3)}`;
    placeTip(this.tip, this.element, e);
    this.onFocus(hit.query, 'query', false);
  }

  /** Each head's picture as a PNG data URL ([layer × heads + head]) and the grid, for an SVG; null before a render. */
  pictures(): { pictures: string[]; geometry: GridGeometry } | null {
    const a = this.atlas;
    if (!a || !this.geometry) return null;
    const one = document.createElement('canvas');
    one.width = a.size;
    one.height = a.size;
    const ctx = one.getContext('2d')!;
    const pictures: string[] = [];
    for (let l = 0; l < a.store.layers; l++)
      for (let h = 0; h < a.store.heads; h++) {
        ctx.clearRect(0, 0, a.size, a.size);
        ctx.drawImage(a.canvas, h * a.size, l * a.size, a.size, a.size, 0, 0, a.size, a.size);
        pictures.push(one.toDataURL('image/png'));
      }
    return { pictures, geometry: this.geometry };
  }

  render(state: ModelViewState): void {
    const t0 = performance.now();
    this.state = state;
    const { store } = state;
    const n = state.tokens.length;
    const theme = readTheme();
    // The page's width, not the tab's: a tab being opened has no width yet, and the grid must not
    // change size under the pointer at the next hover.
    const available = Math.min(1000, Math.max(320, document.body.clientWidth - 32));
    const g = gridGeometry(store.layers, store.heads, available);
    this.geometry = g;
    const size = cellsPerThumb(g, n, store.layers, store.heads);
    const accent = theme.accent.join(',');
    const a = this.atlas;
    if (!a || a.store !== store || a.size !== size || a.accent !== accent) {
      const t1 = performance.now();
      this.atlas = { store, size, accent, canvas: atlasCanvas(store, size, theme.accent) };
      this.timings.atlasMs = performance.now() - t1;
    }
    const atlas = this.atlas!.canvas;

    const dpr = Math.min(window.devicePixelRatio || 1, 8000 / Math.max(g.width, g.height));
    const ctx = sizedContext(this.canvas, g.width, g.height, dpr);
    if (!ctx) return;
    ctx.imageSmoothingEnabled = false;
    const step = g.thumb + g.gap;
    const at = (layer: number, head: number): [number, number] => [g.left + head * step, g.top + layer * step];

    ctx.font = `11px ${theme.uiFont}`;
    ctx.fillStyle = theme.muted;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    for (let h = 0; h < store.heads; h++) ctx.fillText(`H${h}`, g.left + h * step + g.thumb / 2, g.top / 2);
    ctx.textAlign = 'right';
    for (let l = 0; l < store.layers; l++) ctx.fillText(`L${l}`, g.left - 6, g.top + l * step + g.thumb / 2);

    ctx.lineWidth = 1;
    ctx.strokeStyle = rgba([128, 128, 128], 0.35);
    for (let l = 0; l < store.layers; l++)
      for (let h = 0; h < store.heads; h++) {
        const [x, y] = at(l, h);
        ctx.strokeRect(x - 0.5, y - 0.5, g.thumb + 1, g.thumb + 1);
        ctx.drawImage(atlas, h * size, l * size, size, size, x, y, g.thumb, g.thumb);
      }

    // The token in focus: its row (as a query) or column (as a key) in every picture.
    if (state.focus) {
      const band = g.thumb / n;
      const offset = state.focus.index * band;
      const span = (focusLast(state.focus) - state.focus.index + 1) * band;
      // In the foreground colour: the accent colour would read as attention.
      ctx.strokeStyle = theme.foreground;
      ctx.globalAlpha = 0.8;
      ctx.lineWidth = state.focus.pinned ? 1.5 : 1;
      for (let l = 0; l < store.layers; l++)
        for (let h = 0; h < store.heads; h++) {
          const [x, y] = at(l, h);
          if (state.focus.side === 'query') ctx.strokeRect(x, y + offset, g.thumb, Math.max(1, span));
          else ctx.strokeRect(x + offset, y, Math.max(1, band), g.thumb);
        }
      ctx.globalAlpha = 1;
    }

    ctx.strokeStyle = theme.error;
    ctx.lineWidth = 2;
    for (const k of state.knockedOut ?? []) {
      if (k.layer >= store.layers || k.head >= store.heads) continue;
      const [x, y] = at(k.layer, k.head);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + g.thumb, y + g.thumb);
      ctx.moveTo(x + g.thumb, y);
      ctx.lineTo(x, y + g.thumb);
      ctx.stroke();
    }

    // What the head view shows: its head, or its whole layer for an aggregate over heads.
    const { layer, head } = state.view;
    if (head !== 'rollout' && layer < store.layers) {
      ctx.strokeStyle = theme.focus;
      ctx.lineWidth = 2;
      if (typeof head === 'number' && head < store.heads) {
        const [x, y] = at(layer, head);
        ctx.strokeRect(x - 2, y - 2, g.thumb + 4, g.thumb + 4);
      } else if (typeof head !== 'number') {
        const [x, y] = at(layer, 0);
        ctx.strokeRect(x - 3, y - 3, store.heads * step - g.gap + 6, g.thumb + 6);
      }
    }
    this.timings.paintMs = performance.now() - t0;
  }
}

/** The atlas: every picture's cells as pixels of the accent colour, opacity from the weight. */
function atlasCanvas(store: AttentionStore, size: number, [r, g, b]: [number, number, number]): HTMLCanvasElement {
  const cells = allThumbnails(store, size);
  const width = store.heads * size;
  const img = new ImageData(width, store.layers * size);
  const per = size * size;
  // One alpha per possible byte: cellAlpha's sqrt once per level, not once per cell.
  const alpha = new Uint8Array(256);
  for (let i = 0; i < 256; i++) alpha[i] = Math.round(255 * cellAlpha(i / 255));
  for (let l = 0; l < store.layers; l++)
    for (let h = 0; h < store.heads; h++) {
      const base = (l * store.heads + h) * per;
      for (let y = 0; y < size; y++) {
        let at = ((l * size + y) * width + h * size) * 4;
        for (let x = 0; x < size; x++, at += 4) {
          img.data[at] = r;
          img.data[at + 1] = g;
          img.data[at + 2] = b;
          img.data[at + 3] = alpha[Math.round(255 * Math.min(1, cells[base + y * size + x]))];
        }
      }
    }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = store.layers * size;
  canvas.getContext('2d')!.putImageData(img, 0, 0);
  return canvas;
}
