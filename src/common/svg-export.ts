import type { AttentionStore } from './attention-store';
import type { AttentionView, TokenInfo } from './protocol';
import { cellAlpha, MARK_MIN, shadeStep, TINT_MIN, tintAlpha } from './shading';
import { tokenLabel } from './token-display';
import type { GridGeometry } from './model-grid';

/** What an SVG of a view shows: the analysis, the layer/head, the focused token, the theme's colours. */
export interface SvgInput {
  tokens: readonly TokenInfo[];
  store: AttentionStore;
  view: AttentionView;
  focus: { index: number; side: 'query' | 'key' } | null;
  colours: { background: string; foreground: string; muted: string; accent: readonly [number, number, number] };
}

/** The largest matrix written as SVG (one element per cell): beyond it, a PNG. */
export const SVG_MATRIX_MAX_TOKENS = 400;

const ROW = 18;
const GAP = 150;
const PAD = 8;
const STEPS = 10;
/** Width of a 12 px monospace character, for the label column (the SVG is laid out without a DOM). */
const CHAR = 7.2;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const rgb = ([r, g, b]: readonly [number, number, number]): string => `rgb(${r},${g},${b})`;
const label = (t: TokenInfo): string => tokenLabel(t.text);

function svg(width: number, height: number, background: string, body: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="monospace" font-size="12">\n<rect width="100%" height="100%" fill="${esc(background)}"/>\n` +
    `${body.join('\n')}\n</svg>\n`
  );
}

/**
 * The head view as the panel draws it: queries on the left, keys on the right, a line per weight
 * of at least MARK_MIN, in ten opacity steps (one path each); with a focused token, only its lines
 * and the other column shaded by its weights.
 */
export function headViewSvg(x: SvgInput): string {
  const n = x.tokens.length;
  const labels = x.tokens.map(label);
  const labelWidth = Math.min(200, Math.max(40, ...labels.map((l) => l.length * CHAR))) + 8;
  const width = Math.ceil(PAD * 2 + labelWidth * 2 + GAP);
  const height = PAD * 2 + n * ROW;
  const x0 = PAD + labelWidth + 2;
  const x1 = PAD + labelWidth + GAP - 2;
  const y = (i: number): number => PAD + i * ROW + ROW / 2;
  const { layer, head } = x.view;
  const paths: string[][] = Array.from({ length: STEPS }, () => []);
  const queries = x.focus?.side === 'query' ? [x.focus.index] : Array.from({ length: n }, (_, i) => i);
  for (const q of queries) {
    const { keyStart, weights } = x.store.row(layer, head, q);
    for (let j = 0; j < weights.length; j++) {
      const k = keyStart + j;
      if (weights[j] < MARK_MIN || (x.focus?.side === 'key' && k !== x.focus.index)) continue;
      paths[shadeStep(weights[j], STEPS)].push(`M${x0} ${y(q)}L${x1} ${y(k)}`);
    }
  }
  const body: string[] = [];
  const stroke = rgb(x.colours.accent);
  paths.forEach((d, b) => {
    if (d.length === 0) return;
    const opacity = tintAlpha((b + 0.5) / STEPS, 0.12).toFixed(3);
    body.push(
      `<path d="${d.join('')}" stroke="${stroke}" stroke-opacity="${opacity}" stroke-width="${x.focus ? 2 : 1.25}" fill="none"/>`,
    );
  });
  const f = x.focus;
  const shade =
    f && (f.side === 'query' ? x.store.denseRow(layer, head, f.index) : x.store.column(layer, head, f.index));
  const rightX = PAD + labelWidth + GAP + 4;
  labels.forEach((text, i) => {
    const top = PAD + i * ROW;
    if (shade && shade[i] > TINT_MIN) {
      const at = f!.side === 'query' ? rightX - 2 : PAD;
      const opacity = tintAlpha(shade[i], 0.15).toFixed(3);
      body.push(
        `<rect x="${at}" y="${top + 1}" width="${labelWidth - 2}" height="${ROW - 2}" fill="${stroke}" fill-opacity="${opacity}"/>`,
      );
    }
    const fill = esc(x.tokens[i].special ? x.colours.muted : x.colours.foreground);
    const t = esc(text);
    body.push(
      `<text x="${PAD + labelWidth - 4}" y="${top + ROW / 2}" text-anchor="end" dominant-baseline="middle" fill="${fill}">${t}</text>`,
      `<text x="${rightX}" y="${top + ROW / 2}" dominant-baseline="middle" fill="${fill}">${t}</text>`,
    );
  });
  return svg(width, height, x.colours.background, body);
}

/** The matrix: queries down, keys across, one cell per weight above TINT_MIN (sqrt opacity, as drawn). */
export function matrixSvg(x: SvgInput): string {
  const n = x.tokens.length;
  if (n > SVG_MATRIX_MAX_TOKENS) {
    throw new Error(
      `the matrix has ${n}² cells, too many for an SVG (at most ${SVG_MATRIX_MAX_TOKENS} tokens): export it as PNG`,
    );
  }
  const cell = Math.max(2, Math.min(14, Math.floor(900 / n)));
  const withLabels = cell >= 10;
  const room = withLabels ? Math.min(160, Math.max(...x.tokens.map((t) => label(t).length * CHAR)) + 8) : PAD;
  const size = room + n * cell + PAD;
  const body: string[] = [];
  const fill = rgb(x.colours.accent);
  for (let q = 0; q < n; q++) {
    const { keyStart, weights } = x.store.row(x.view.layer, x.view.head, q);
    for (let j = 0; j < weights.length; j++) {
      if (weights[j] <= TINT_MIN) continue;
      const a = cellAlpha(weights[j]).toFixed(3);
      body.push(
        `<rect x="${room + (keyStart + j) * cell}" y="${room + q * cell}" width="${cell}" height="${cell}" fill="${fill}" fill-opacity="${a}"/>`,
      );
    }
  }
  if (withLabels) {
    const colour = esc(x.colours.foreground);
    x.tokens.forEach((t, i) => {
      const mid = room + i * cell + cell / 2;
      const text = esc(label(t));
      body.push(
        `<text x="${room - 4}" y="${mid}" text-anchor="end" dominant-baseline="middle" font-size="${cell - 2}" fill="${colour}">${text}</text>`,
        `<text transform="translate(${mid} ${room - 4}) rotate(-90)" dominant-baseline="middle" font-size="${cell - 2}" fill="${colour}">${text}</text>`,
      );
    });
  }
  return svg(size, size, x.colours.background, body);
}

/** What the model view's SVG needs: the grid, and each head's picture as an image URL (a PNG, made by the panel). */
export interface ModelSvgInput {
  layers: number;
  heads: number;
  geometry: GridGeometry;
  /** [layer × heads + head]: the picture of that head. */
  pictures: readonly string[];
  colours: SvgInput['colours'];
}

/**
 * The model view: labels and frames as vectors, each head's picture embedded as a raster image
 * (as plotting libraries write a heatmap into an SVG), drawn without smoothing so cells stay crisp.
 */
export function modelViewSvg(x: ModelSvgInput): string {
  const g = x.geometry;
  const step = g.thumb + g.gap;
  const body: string[] = [];
  for (let h = 0; h < x.heads; h++)
    body.push(
      `<text x="${g.left + h * step + g.thumb / 2}" y="${g.top - 5}" text-anchor="middle" fill="${esc(x.colours.muted)}" font-size="11">H${h}</text>`,
    );
  for (let l = 0; l < x.layers; l++) {
    const y = g.top + l * step;
    body.push(
      `<text x="${g.left - 6}" y="${y + g.thumb / 2 + 4}" text-anchor="end" fill="${esc(x.colours.muted)}" font-size="11">L${l}</text>`,
    );
    for (let h = 0; h < x.heads; h++) {
      const px = g.left + h * step;
      body.push(
        `<rect x="${px - 0.5}" y="${y - 0.5}" width="${g.thumb + 1}" height="${g.thumb + 1}" fill="none" stroke="rgb(128,128,128)" stroke-opacity="0.35"/>`,
        `<image x="${px}" y="${y}" width="${g.thumb}" height="${g.thumb}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${esc(x.pictures[l * x.heads + h] ?? '')}"><title>layer ${l}, head ${h}</title></image>`,
      );
    }
  }
  return svg(Math.ceil(g.width), Math.ceil(g.height), x.colours.background, body);
}
