import type { AttentionStore } from '../src/common/attention-store';
import { attentionJson, matrixCsv, type ExportFormat } from '../src/common/export-formats';
import type { AttentionView, TokenInfo } from '../src/common/protocol';

export interface Exportable {
  tokens: TokenInfo[];
  layerNames: string[];
  store: AttentionStore;
  view: AttentionView;
  /** The open tab's canvas (null: no picture to export, the Heads tab). */
  canvas: HTMLCanvasElement | null;
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
      if (!x.canvas) throw new Error('a PNG is of the head view or the matrix: open one of those tabs first');
      return png(x.canvas);
    case 'json':
      return new TextEncoder().encode(attentionJson(x.tokens, x.layerNames, x.store));
    case 'csv':
      return new TextEncoder().encode(matrixCsv(x.tokens, x.store, x.view.layer, x.view.head));
  }
}
