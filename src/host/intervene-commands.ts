import * as vscode from 'vscode';
import type { InterventionChoice, ModelInfo } from '../common/protocol';
import { tokenAtOffset, tokensInRange, type AnalysisRecord } from './analysis-record';

/**
 * Knock Out Heads…: every head of the model, several may be ticked (the current layer's first).
 * The chosen heads, or undefined when cancelled or none was ticked.
 */
export async function pickHeadsToKnockOut(
  model: ModelInfo,
  currentLayer: number,
): Promise<InterventionChoice['heads'] | undefined> {
  const items: (vscode.QuickPickItem & { layer: number; head: number })[] = [];
  const layers = [currentLayer, ...Array.from({ length: model.layers }, (_, l) => l).filter((l) => l !== currentLayer)];
  for (const layer of layers)
    for (let head = 0; head < model.heads; head++) items.push({ label: `Layer ${layer} · Head ${head}`, layer, head });
  const picks = await vscode.window.showQuickPick(items, {
    title: 'Attention Explorer: Knock Out Heads (their attention set to zero, then the text runs again)',
    canPickMany: true,
    placeHolder: 'Tick the heads to knock out',
  });
  if (!picks?.length) return undefined;
  return picks.map(({ layer, head }) => ({ layer, head })).sort((a, b) => a.layer - b.layer || a.head - b.head);
}

/**
 * Hide Selection from Attention: the analysed tokens (or words) the editor's selection covers, or
 * why there are none.
 */
export function selectionToHide(
  rec: AnalysisRecord,
  editor: vscode.TextEditor | undefined,
): { units: number[] } | { message: string } {
  if (!editor || editor.document.uri.toString() !== rec.uri)
    return { message: 'select text inside the analysed text, in its editor, first.' };
  const doc = editor.document;
  const sel = editor.selection;
  // No selection: the token under the cursor.
  const at = sel.isEmpty ? tokenAtOffset(rec, doc.offsetAt(sel.active)) : undefined;
  const range = sel.isEmpty
    ? at !== undefined
      ? { first: at, last: at }
      : undefined
    : tokensInRange(rec, doc.offsetAt(sel.start), doc.offsetAt(sel.end));
  if (!range) return { message: 'the selection covers no analysed token.' };
  const units = Array.from({ length: range.last - range.first + 1 }, (_, i) => range.first + i);
  if (units.length === rec.result?.tokens.length)
    return { message: 'hiding every token leaves nothing to attend to; select fewer.' };
  return { units };
}
