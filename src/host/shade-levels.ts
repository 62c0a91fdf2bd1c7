import * as vscode from 'vscode';

/**
 * A few decoration types of one hue at rising opacity, for shading editor text by strength (the
 * attention a token gets, a token's surprisal). The hue follows the theme's kind; on a theme
 * change the types are made anew and `onRemade` lets the owner draw again.
 */
export class ShadeLevels implements vscode.Disposable {
  private types: vscode.TextEditorDecorationType[] = [];
  private readonly themeListener: vscode.Disposable;

  constructor(
    private readonly rgb: { light: string; dark: string },
    readonly count: number,
    onRemade: () => void,
  ) {
    this.make();
    this.themeListener = vscode.window.onDidChangeActiveColorTheme(() => {
      this.disposeTypes();
      this.make();
      onRemade();
    });
  }

  private make(): void {
    const kind = vscode.window.activeColorTheme.kind;
    const light = kind === vscode.ColorThemeKind.Light || kind === vscode.ColorThemeKind.HighContrastLight;
    const rgb = light ? this.rgb.light : this.rgb.dark;
    this.types = Array.from({ length: this.count }, (_, i) =>
      vscode.window.createTextEditorDecorationType({
        backgroundColor: `rgba(${rgb}, ${(0.12 + (0.6 * (i + 1)) / this.count).toFixed(2)})`,
        borderRadius: '2px',
        overviewRulerColor: i >= this.count / 2 ? `rgba(${rgb}, 0.8)` : undefined,
        overviewRulerLane: vscode.OverviewRulerLane.Center,
      }),
    );
  }

  /** Sets each level's ranges in `editor` (`buckets[i]` for level i; fewer buckets clear the rest). */
  set(editor: vscode.TextEditor, buckets: readonly vscode.DecorationOptions[][]): void {
    this.types.forEach((type, i) => editor.setDecorations(type, buckets[i] ?? []));
  }

  private disposeTypes(): void {
    for (const t of this.types) t.dispose();
    this.types = [];
  }

  dispose(): void {
    this.disposeTypes();
    this.themeListener.dispose();
  }
}
