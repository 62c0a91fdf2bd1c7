import * as vscode from 'vscode';
import type { AnalysisRecord } from './analysis-record';
import { tokenDocRange } from './analysis-record';
import { MARK_MIN, shadeStep } from '../common/shading';
import { ShadeLevels } from './shade-levels';

const LEVELS = 8;

/**
 * Shading over the editor text: the token under the cursor shades the tokens it attends to, with
 * a background whose strength is the weight (eight steps, one decoration type each), and an
 * outline on the token itself. Colours follow the theme's kind.
 */
export class AttentionDecorations implements vscode.Disposable {
  private readonly levels = new ShadeLevels({ light: '0, 100, 220', dark: '55, 148, 255' }, LEVELS, () => this.clear());
  private readonly focusType = vscode.window.createTextEditorDecorationType({
    border: '1px solid',
    borderColor: new vscode.ThemeColor('focusBorder'),
    borderRadius: '2px',
  });
  private shown?: vscode.TextEditor;

  /** Shades what token `index` attends to, in every visible editor of the record's document. */
  show(editor: vscode.TextEditor, record: AnalysisRecord, index: number): void {
    const r = record.result;
    if (!r || record.stale) return this.clear();
    this.showRange(editor, record, index, index, r.summaries[index].attends);
  }

  /** Shades what tokens `first` to `last` attend to together (`attends`: their summed row's top). */
  showRange(
    editor: vscode.TextEditor,
    record: AnalysisRecord,
    first: number,
    last: number,
    attends: { index: number; weight: number }[],
  ): void {
    const r = record.result;
    if (!r || record.stale || last >= r.tokens.length) return this.clear();
    const doc = editor.document;
    const range = (i: number): vscode.Range => {
      const { start, end } = tokenDocRange(record, i);
      return new vscode.Range(doc.positionAt(start), doc.positionAt(end));
    };
    const buckets: vscode.DecorationOptions[][] = Array.from({ length: LEVELS }, () => []);
    for (const w of attends) {
      if (w.index >= r.tokens.length || w.weight < MARK_MIN || r.tokens[w.index].end === r.tokens[w.index].start)
        continue;
      buckets[shadeStep(w.weight, LEVELS, true)].push({ range: range(w.index) });
    }
    if (this.shown && this.shown !== editor) this.clear();
    this.levels.set(editor, buckets);
    const { start } = tokenDocRange(record, first);
    const { end } = tokenDocRange(record, last);
    editor.setDecorations(this.focusType, [new vscode.Range(doc.positionAt(start), doc.positionAt(end))]);
    this.shown = editor;
  }

  clear(): void {
    const e = this.shown;
    if (!e) return;
    this.levels.set(e, []);
    e.setDecorations(this.focusType, []);
    this.shown = undefined;
  }

  dispose(): void {
    this.clear();
    this.levels.dispose();
    this.focusType.dispose();
  }
}
