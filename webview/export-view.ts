import type { AttentionStore } from '../src/common/attention-store';
import { attentionJson, matrixCsv, type ExportFormat } from '../src/common/export-formats';
import type { AttentionView, TokenInfo } from '../src/common/protocol';
import type { GridGeometry } from '../src/common/model-grid';
import { TAB } from '../src/common/panel-state';
import { headViewSvg, matrixSvg, modelViewSvg } from '../src/common/svg-export';
import type { Focus } from './views/focus';
import { readTheme } from './views/theme';

export interface Exportable {
  tokens: TokenInfo[];
  layerNames: string[];
  store: AttentionStore;
  view: AttentionView;
  focus: Focus | null;
  /** The open tab (TAB): the Heads tab has no picture. */
  tab: number;
  /** The open tab's canvas (null: no picture to export, the Heads tab). */
  canvas: HTMLCanvasElement | null;
  /** The model view's pictures of each head and its grid (null until it has been drawn). */
  modelPictures: () => { pictures: string[]; geometry: GridGeometry } | null;
}

const NO_PICTURE = 'a picture is of the head view, the matrix or the model view: open one of those tabs first';

function svgOf(x: Exportable): string {
  if (x.tab === TAB.queryKey) throw new Error('the query·key view is exported as a PNG, not an SVG');
  if (x.tab !== TAB.head && x.tab !== TAB.matrix && x.tab !== TAB.model) throw new Error(NO_PICTURE);
  const theme = readTheme();
  const colours = {
    background: getComputedStyle(document.body).backgroundColor || '#1e1e1e',
    foreground: theme.foreground,
    muted: theme.muted,
    accent: theme.accent,
  };
  if (x.tab === TAB.model) {
    const drawn = x.modelPictures();
    if (!drawn) throw new Error('the model view has not been drawn yet');
    return modelViewSvg({ layers: x.store.layers, heads: x.store.heads, ...drawn, colours });
  }
  const input = { tokens: x.tokens, store: x.store, view: x.view, focus: x.focus, colours };
  return x.tab === TAB.head ? headViewSvg(input) : matrixSvg(input);
}

/**
 * The view on the theme's editor background: the panel draws on a transparent canvas, and its
 * light-on-dark lines would vanish in an image viewer's white.
 */
function png(view: HTMLCanvasElement): Promise<Uint8Array> {
  const canvas = document.createElement('canvas');
  canvas.width = view.width;
  canvas.height = view.height;
  const ctx = canvas.getContext('2d');
  if (ctx) {
    ctx.fillStyle = getComputedStyle(document.body).backgroundColor || '#1e1e1e';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(view, 0, 0);
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => {
      if (!blob) reject(new Error('the view could not be turned into a PNG (is it empty?)'));
      else void blob.arrayBuffer().then((b) => resolve(new Uint8Array(b)), reject);
    }, 'image/png'),
  );
}

/** The bytes of an export of what the panel shows; throws with a message the user can act on. */
export async function exportBytes(format: ExportFormat, x: Exportable): Promise<Uint8Array> {
  switch (format) {
    case 'png':
      if (!x.canvas) throw new Error(NO_PICTURE);
      return png(x.canvas);
    case 'svg':
      return new TextEncoder().encode(svgOf(x));
    case 'json':
      return new TextEncoder().encode(attentionJson(x.tokens, x.layerNames, x.store));
    case 'csv':
      return new TextEncoder().encode(matrixCsv(x.tokens, x.store, x.view.layer, x.view.head));
  }
}
