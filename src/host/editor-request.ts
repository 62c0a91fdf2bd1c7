import * as vscode from 'vscode';
import { pickRange } from './pick-range';

export interface EditorText {
  uri: string;
  /** Document offset of the text's first character. */
  start: number;
  text: string;
  /** Where the text came from, for the panel's header: `file.py, selection`. */
  source: string;
}

/**
 * The text Show Attention analyses in the active editor (the selection, else the current line,
 * else the visible range), or the message that tells the user why there is none.
 */
export function textToAnalyse(editor: vscode.TextEditor | undefined): EditorText | { message: string } {
  if (!editor) return { message: 'open a file and select some code or prose first.' };
  const doc = editor.document;
  const sel = editor.selection;
  const line = doc.lineAt(sel.active.line);
  const visible = editor.visibleRanges[0];
  const choice = pickRange({
    selection: { start: doc.offsetAt(sel.start), end: doc.offsetAt(sel.end) },
    line: { start: doc.offsetAt(line.range.start), end: doc.offsetAt(line.range.end), text: line.text },
    visible: visible ? { start: doc.offsetAt(visible.start), end: doc.offsetAt(visible.end) } : undefined,
  });
  if (!choice) {
    return {
      message:
        doc.getText().length === 0
          ? 'the document is empty; there is nothing to analyse.'
          : 'nothing to analyse here; select some code or prose.',
    };
  }
  return {
    uri: doc.uri.toString(),
    start: choice.start,
    text: doc.getText(new vscode.Range(doc.positionAt(choice.start), doc.positionAt(choice.end))),
    source: `${vscode.workspace.asRelativePath(doc.uri)}, ${choice.what}`,
  };
}
