/** Colours come from VS Code's theme variables, read when drawing so theme changes apply. */
export interface Theme {
  foreground: string;
  muted: string;
  accent: [number, number, number];
  /** Surprisal's colour, apart from attention's accent (the editor's shading uses the same hue). */
  surprise: [number, number, number];
  focus: string;
  /** Marks what an intervention took out (a knocked-out head). */
  error: string;
  /** The editor's and the workbench's font families. */
  editorFont: string;
  uiFont: string;
}

/**
 * The theme, read once and kept until VS Code changes it (it sets its variables on the document
 * element and the body): reading computed styles after a view has written styles forces the
 * page to recompute every style first — a hover's redraw paid that in each view.
 */
let cached: Theme | undefined;
let watching = false;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

function parseColor(css: string): [number, number, number] {
  const ctx = document.createElement('canvas').getContext('2d');
  if (!ctx) return [0, 122, 204];
  ctx.fillStyle = '#000';
  ctx.fillStyle = css;
  const v = String(ctx.fillStyle);
  if (v.startsWith('#')) return [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)) as [number, number, number];
  const m = v.match(/\d+(\.\d+)?/g);
  return m ? [Number(m[0]), Number(m[1]), Number(m[2])] : [0, 122, 204];
}

export function readTheme(): Theme {
  if (!watching) {
    watching = true;
    const forget = new MutationObserver(() => (cached = undefined));
    forget.observe(document.documentElement, { attributes: true });
    forget.observe(document.body, { attributes: true });
  }
  cached ??= {
    foreground: cssVar('--vscode-editor-foreground', '#cccccc'),
    muted: cssVar('--vscode-descriptionForeground', '#999999'),
    accent: parseColor(cssVar('--vscode-charts-blue', cssVar('--vscode-focusBorder', '#3794ff'))),
    surprise: parseColor(cssVar('--vscode-charts-orange', '#d18616')),
    focus: cssVar('--vscode-focusBorder', '#007fd4'),
    error: cssVar('--vscode-errorForeground', '#f48771'),
    editorFont: cssVar('--vscode-editor-font-family', 'monospace'),
    uiFont: cssVar('--vscode-font-family', 'sans-serif'),
  };
  return cached;
}

/** Distinct colours for heads (readable on dark and light backgrounds). */
const HEAD_COLOURS: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
  [57, 59, 121],
  [173, 73, 74],
];
export function headColour(h: number): [number, number, number] {
  return HEAD_COLOURS[h % HEAD_COLOURS.length];
}

export function rgba([r, g, b]: [number, number, number], a: number): string {
  return `rgba(${r}, ${g}, ${b}, ${Math.max(0, Math.min(1, a)).toFixed(3)})`;
}
