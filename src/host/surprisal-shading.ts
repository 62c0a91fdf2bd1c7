import * as vscode from 'vscode';
import { tokenDocRange, type AnalysisRecord } from './analysis-record';
import { shadeStep } from '../common/shading';
import { surprisalShade } from '../common/surprisal';
import { ShadeLevels } from './shade-levels';

const LEVELS = 8;

/**
 * Show Surprisal: every analysed token shaded by how unexpected it was to the model (orange, as
 * the panel's surprisal strip), over the whole analysed text at once.
 */
export class SurprisalShading implements vscode.Disposable {
  private readonly levels = new ShadeLevels({ light: '220, 110, 0', dark: '240, 140, 40' }, LEVELS, () =>
    this.redraw(),
  );
  private shown?: { editor: vscode.TextEditor; record: AnalysisRecord };

  /** Shades `record`'s tokens in `editor`; nothing when it has no predictions. */
  show(editor: vscode.TextEditor, record: AnalysisRecord): void {
    const r = record.result;
    if (!r?.predictions || record.stale) return this.clear();
    const doc = editor.document;
    const buckets: vscode.DecorationOptions[][] = Array.from({ length: LEVELS }, () => []);
    r.predictions.forEach((p, i) => {
      if (p.bits === null || r.tokens[i].end === r.tokens[i].start) return;
      const { start, end } = tokenDocRange(record, i);
      buckets[shadeStep(surprisalShade(p.bits), LEVELS)].push({
        range: new vscode.Range(doc.positionAt(start), doc.positionAt(end)),
      });
    });
    if (this.shown && this.shown.editor !== editor) this.clear();
    this.levels.set(editor, buckets);
    this.shown = { editor, record };
  }

  private redraw(): void {
    const shown = this.shown;
    this.shown = undefined;
    if (shown) this.show(shown.editor, shown.record);
  }

  clear(): void {
    if (this.shown) this.levels.set(this.shown.editor, []);
    this.shown = undefined;
  }

  dispose(): void {
    this.clear();
    this.levels.dispose();
  }
}
