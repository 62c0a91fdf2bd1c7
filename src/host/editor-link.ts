import * as vscode from 'vscode';
import { applyChange, tokenAtOffset, tokenDocRange, tokensInRange, type AnalysisRecord } from './analysis-record';
import { COMMANDS } from './commands';
import { AttentionDecorations } from './decorations';
import { hoverMarkdown } from './hover-text';
import { disposeAll } from './dispose-all';
import { settings } from './settings';
import { SurprisalShading } from './surprisal-shading';

export interface EditorLinkOwner {
  /** The current analysis, if any. */
  record(): AnalysisRecord | undefined;
  /** Whether the panel is open (the shading follows the cursor only then). */
  panelOpen(): boolean;
  /** The analysed text was edited: the result no longer matches it. */
  onStale(record: AnalysisRecord): void;
  /** The selection covers several analysed tokens (null: no longer): the panel focuses on them together. */
  focusTokens(record: AnalysisRecord, range: { first: number; last: number } | null): void;
}

/**
 * The analysis over the editor text: the hover (top tokens, predictions, reveal link), the
 * shading of what the token under the cursor (or the panel's focused token) attends to — or,
 * while Show Surprisal is on, of every token's surprisal instead — and stale marking on edits.
 */
export class EditorLink implements vscode.Disposable {
  private readonly decorations = new AttentionDecorations();
  private readonly surprisal = new SurprisalShading();
  private readonly subscriptions: vscode.Disposable[];
  /** The tokens the selection covers, while it covers several. */
  private range?: { first: number; last: number; requestId: number };
  /** Show Surprisal is on: its shading replaces the attention's (two backgrounds would mix). */
  private surprisalOn = false;

  constructor(private readonly owner: EditorLinkOwner) {
    this.subscriptions = [
      vscode.languages.registerHoverProvider({ scheme: '*' }, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.followCursor(e.textEditor)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      // An editor opened again on the document comes without decorations.
      vscode.window.onDidChangeVisibleTextEditors(() => this.surprisalOn && this.refresh()),
      this.decorations,
      this.surprisal,
    ];
  }

  clear(): void {
    this.decorations.clear();
    this.surprisal.clear();
  }

  get showsSurprisal(): boolean {
    return this.surprisalOn;
  }

  /**
   * Show Surprisal on or off. On, the current result's tokens are shaded now if it has
   * predictions, else when a result with them arrives; off, the attention's shading follows the
   * cursor again.
   */
  setSurprisal(on: boolean): void {
    this.surprisalOn = on;
    this.clear();
    this.refresh();
  }

  /** Shades what token `index` attends to (the panel's hovered or pinned token). */
  showToken(index: number): void {
    const rec = this.owner.record();
    const editor = rec && this.editorFor(rec);
    if (rec?.result && editor && settings().editorHighlight && !this.surprisalOn)
      this.decorations.show(editor, rec, index);
  }

  /** Shades what several tokens attend to together (the panel summed their rows). */
  showTokens(first: number, last: number, attends: { index: number; weight: number }[]): void {
    const rec = this.owner.record();
    const editor = rec && this.editorFor(rec);
    if (rec?.result && editor && settings().editorHighlight && !this.surprisalOn)
      this.decorations.showRange(editor, rec, first, last, attends);
  }

  /** Redraws the shading for the cursor (or the surprisal), after a new result or a new layer/head. */
  refresh(): void {
    const rec = this.owner.record();
    const editor = rec && this.editorFor(rec);
    if (!editor) return;
    if (this.surprisalOn && this.owner.panelOpen()) this.surprisal.show(editor, rec);
    this.followCursor(editor);
  }

  private editorFor(rec: AnalysisRecord): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active?.document.uri.toString() === rec.uri) return active;
    return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === rec.uri);
  }

  private followCursor(editor: vscode.TextEditor): void {
    const rec = this.owner.record();
    if (!this.owner.panelOpen() || !rec?.result || rec.stale) return;
    if (editor.document.uri.toString() !== rec.uri) return;
    // A selection over several tokens: the panel sums their rows and answers with the shading.
    const doc = editor.document;
    const sel = editor.selection;
    const range = sel.isEmpty ? undefined : tokensInRange(rec, doc.offsetAt(sel.start), doc.offsetAt(sel.end));
    // A selection over every analysed token is the text that was analysed, not a focus.
    const whole = range?.first === 0 && range.last === rec.result.tokens.length - 1;
    if (range && range.last > range.first && !whole) {
      const same = this.range?.requestId === rec.requestId && this.range.first === range.first;
      if (!same || this.range?.last !== range.last) this.owner.focusTokens(rec, range);
      this.range = { ...range, requestId: rec.requestId };
      return;
    }
    if (this.range) {
      this.range = undefined;
      this.owner.focusTokens(rec, null);
    }
    if (!settings().editorHighlight || this.surprisalOn) return;
    const index = tokenAtOffset(rec, editor.document.offsetAt(editor.selection.active));
    if (index === undefined) this.decorations.clear();
    else this.decorations.show(editor, rec, index);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const rec = this.owner.record();
    if (!rec || rec.stale || e.document.uri.toString() !== rec.uri || e.contentChanges.length === 0) return;
    // Changes in one event are applied from the end of the document backwards.
    const changes = [...e.contentChanges].sort((a, b) => b.rangeOffset - a.rangeOffset);
    for (const c of changes) {
      if (
        applyChange(rec, { offset: c.rangeOffset, length: c.rangeLength, insertedLength: c.text.length }) === 'stale'
      ) {
        this.clear();
        this.owner.onStale(rec);
        return;
      }
    }
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const rec = this.owner.record();
    if (!rec?.result || doc.uri.toString() !== rec.uri) return undefined;
    const index = tokenAtOffset(rec, doc.offsetAt(pos));
    if (index === undefined) return undefined;
    const positionOf = (offset: number): { line: number; column: number } => {
      const p = doc.positionAt(offset);
      return { line: p.line + 1, column: p.character + 1 };
    };
    const md = new vscode.MarkdownString(
      hoverMarkdown(rec, index, settings().topK, positionOf, COMMANDS.revealToken),
      true,
    );
    md.isTrusted = { enabledCommands: [COMMANDS.revealToken] };
    const { start, end } = tokenDocRange(rec, index);
    return new vscode.Hover(md, new vscode.Range(doc.positionAt(start), doc.positionAt(end)));
  }

  dispose(): void {
    disposeAll(this.subscriptions);
  }
}
