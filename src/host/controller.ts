import * as vscode from 'vscode';
import type { AnalyseRequest, AttentionView, ExportedMessage, WebviewToHost } from '../common/protocol';
import { chooseExport, writeExport } from './export-attention';
import { PageAnswers } from './page-answers';
import { restoreState } from '../common/panel-state';
import { unreachable } from '../common/validate';
import { recordResult, type AnalysisRecord } from './analysis-record';
import { chooseModel } from './choose-model';
import { COMMANDS } from './commands';
import { disposeAll } from './dispose-all';
import { EditorLink } from './editor-link';
import { textToAnalyse } from './editor-request';
import { manageCache } from './manage-cache';
import { modelCacheRoot } from './model-cache';
import { ModelPanel } from './model-panel';
import { PANEL_VIEW_TYPE } from './panel';
import { RecentModels } from './recent-models';
import { affectsModel, settings } from './settings';
import { AttentionStatusBar } from './status-bar';
import { pickHead, pickLayer } from './view-picks';
import { pickHeadByScore } from './find-heads';
import type { HeadScoreRow } from '../common/head-scores';
import { toggleSurprisal } from './surprisal-command';
import { pickHeadsToKnockOut, selectionToHide } from './intervene-commands';

/**
 * Wires the host's parts and keeps which analysis is current: the request, the panel's answer,
 * the layer/head shown. What each part does lives in its own module (the panel and its model,
 * the editor link, model choice, the cache…).
 */
export class AttentionController implements vscode.Disposable {
  private record?: AnalysisRecord;
  private nextId = 1;
  private view: AttentionView = { layer: 0, head: 'mean' };
  private lastRequest?: AnalyseRequest;
  /** Find Heads… and Export Attention… wait for the page's answers. */
  private readonly headScores = new PageAnswers<HeadScoreRow[]>();
  private readonly exports = new PageAnswers<ExportedMessage>();
  /** Show Attention calls waiting for their result (the window's progress indicator). */
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private readonly status = new AttentionStatusBar();
  private readonly recent: RecentModels;
  private readonly panel: ModelPanel;
  private readonly editor: EditorLink;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.recent = new RecentModels(context.globalState);
    this.panel = new ModelPanel(context, log, {
      onMessage: (m) => this.onMessage(m),
      onReloaded: (why) => this.onReloaded(why),
      onClosed: () => this.onPanelClosed(),
    });
    this.editor = new EditorLink({
      record: () => this.record,
      panelOpen: () => this.panel.isOpen,
      onStale: (rec) => {
        this.panel.post({ type: 'setStale', stale: true });
        this.status.show(rec);
        this.log.info('the analysed text was edited: the result is marked stale');
      },
      focusTokens: (rec, range) => this.panel.post({ type: 'focusTokens', requestId: rec.requestId, range }),
    });
  }

  register(): void {
    const cacheRoot = modelCacheRoot(this.context.globalStorageUri.fsPath);
    const cmd = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable =>
      vscode.commands.registerCommand(id, fn);
    this.disposables.push(
      cmd(COMMANDS.showAttention, () => this.showAttention()),
      cmd(COMMANDS.selectLayer, () => this.pickView(pickLayer)),
      cmd(COMMANDS.selectHead, () => this.pickView(pickHead)),
      cmd(COMMANDS.findHeads, () => this.findHeads()),
      cmd(COMMANDS.exportAttention, () => this.exportAttention()),
      cmd(COMMANDS.clearAttention, () => this.clear()),
      cmd(COMMANDS.chooseModel, async () => {
        if (await chooseModel(this.recent, cacheRoot, this.log)) this.panel.onModelSetting();
      }),
      cmd(COMMANDS.manageCache, async () => {
        const changes = await manageCache(cacheRoot, this.recent, this.log);
        if (changes.clearPanelCache) this.panel.clearCache();
        if (changes.deleted.length) this.panel.onModelSetting();
      }),
      cmd(COMMANDS.revealToken, (index: unknown) => this.revealToken(index)),
      cmd(COMMANDS.knockOutHeads, () => this.knockOutHeads()),
      cmd(COMMANDS.hideSelection, () => this.hideSelection()),
      cmd(COMMANDS.compareWithPrevious, () => this.shownResult() && this.panel.post({ type: 'compare' })),
      cmd(COMMANDS.toggleSurprisal, () =>
        toggleSurprisal({
          editor: this.editor,
          shownResult: () => this.shownResult(),
          analyseAgain: () => this.analyseAgain(),
        }),
      ),
      vscode.workspace.onDidChangeConfiguration((e) => affectsModel(e) && this.panel.onModelSetting()),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => this.revive(panel, state),
      }),
      this.editor,
      this.status,
    );
  }

  /** The panel's page was reloaded: the current request is sent again. */
  private onReloaded(why: 'model' | 'cache' | 'restart'): void {
    if (!this.lastRequest || !this.record) return;
    if (why === 'cache') {
      this.panel.post({ ...this.lastRequest, requestId: this.record.requestId });
      return;
    }
    this.analyseAgain(this.lastRequest.settings);
  }

  /**
   * The current text again (a new model, predictions turned on): the old result does not hold;
   * a new id, and the status bar says it runs.
   */
  private analyseAgain(requestSettings = this.requestSettings()): void {
    if (!this.lastRequest || !this.record) return;
    const requestId = this.nextId++;
    this.record = { ...this.record, requestId, result: undefined, stale: false };
    this.lastRequest = { ...this.lastRequest, requestId, settings: requestSettings };
    this.panel.post(this.lastRequest);
    this.status.running(this.panel.modelName);
  }

  private requestSettings(): AnalyseRequest['settings'] {
    const s = settings();
    return { backend: s.backend, maxTokens: s.maxTokens, topK: s.topK, predictions: s.predictions };
  }

  private revive(panel: vscode.WebviewPanel, state: unknown): void {
    this.panel.revive(panel);
    // The restored page re-runs its saved request itself; its origin maps the result back.
    const { request } = restoreState(state);
    if (!request) return;
    const { requestId, origin, text } = request;
    this.record = { requestId, uri: origin.uri, baseOffset: origin.offset, textLength: text.length, stale: false };
    this.nextId = Math.max(this.nextId, requestId + 1);
  }

  private onPanelClosed(): void {
    this.editor.clear();
    this.status.hide();
    for (const resolve of this.pending.values()) resolve(false);
    this.pending.clear();
    this.headScores.cancelAll();
    this.exports.cancelAll();
  }

  /** The Show Attention call waiting on `requestId` stops waiting. */
  private settle(requestId: number | null, ok: boolean): void {
    if (requestId === null) return;
    this.pending.get(requestId)?.(ok);
    this.pending.delete(requestId);
  }

  private onMessage(m: WebviewToHost): void {
    const rec = this.record;
    switch (m.type) {
      case 'ready':
      case 'readFile':
      case 'resultKept': // all answered by the panel itself
        return;
      case 'result':
        if (rec?.requestId !== m.requestId) return;
        recordResult(rec, m);
        this.view = m.view;
        this.status.show(rec);
        this.log.info(
          `analysed ${m.tokens.length} tokens on ${m.backend} in ${m.runMs.toFixed(1)} ms` +
            `${m.truncated ? ' (cut at maxTokens)' : ''}${m.backendNote ? `; ${m.backendNote}` : ''}`,
        );
        this.settle(m.requestId, true);
        this.editor.refresh();
        return;
      case 'summary':
        if (!rec?.result || rec.requestId !== m.requestId) return;
        rec.result.view = this.view = m.view;
        rec.result.summaries = m.summaries;
        this.editor.refresh();
        return;
      case 'focusToken':
        // The panel's hovered or pinned token shades the editor too.
        if (rec?.result && rec.requestId === m.requestId && m.index !== null && m.index < rec.result.tokens.length) {
          this.editor.showToken(m.index);
        }
        return;
      case 'rangeSummary':
        if (rec?.result && rec.requestId === m.requestId) this.editor.showTokens(m.first, m.last, m.attends);
        return;
      case 'headScores':
        this.headScores.answer(m.requestId, m.heads);
        return;
      case 'exported':
        this.exports.answer(m.requestId, m);
        return;
      case 'exportAsked':
        void this.exportAttention();
        return;
      case 'superseded':
        // A newer request took its place in the panel: whoever waited on it stops waiting.
        this.settle(m.requestId, false);
        return;
      case 'restart': {
        // The same request runs again on the fresh page, under the same id: nothing waiting on it is lost.
        const last = this.lastRequest;
        if (!this.panel.restartOnWasm(m.reason) || !last || m.requestId === null || m.requestId !== rec?.requestId)
          return;
        this.panel.post({ ...last, requestId: m.requestId, settings: { ...last.settings, backend: 'wasm' } });
        return;
      }
      case 'error':
        this.log.error(`analysis failed: ${m.message}`);
        this.status.error(m.message);
        this.settle(m.requestId, false);
        void vscode.window.showErrorMessage(`Attention Explorer: ${m.message}`);
        return;
      default:
        unreachable(m, 'message from the webview');
    }
  }

  async showAttention(): Promise<void> {
    const found = textToAnalyse(vscode.window.activeTextEditor);
    if ('message' in found) {
      void vscode.window.showInformationMessage(`Attention Explorer: ${found.message}`);
      return;
    }
    const requestId = this.nextId++;
    this.log.info(`show attention: request ${requestId}, ${found.text.length} characters`);
    this.record = { requestId, uri: found.uri, baseOffset: found.start, textLength: found.text.length, stale: false };
    this.editor.clear();
    this.panel.ensure();
    this.lastRequest = {
      type: 'analyse',
      requestId,
      text: found.text,
      source: found.source,
      origin: { uri: found.uri, offset: found.start },
      settings: this.requestSettings(),
    };
    this.panel.post(this.lastRequest);
    this.panel.post({ type: 'setView', view: this.view });
    const modelName = this.panel.modelName;
    this.status.running(modelName);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Attention Explorer: running ${modelName}` },
      () => new Promise<boolean>((resolve) => this.pending.set(requestId, resolve)),
    );
  }

  /** The analysis the panel shows, for the commands that need one; else the user is told to run one. */
  private shownResult(): (AnalysisRecord & { result: NonNullable<AnalysisRecord['result']> }) | undefined {
    const rec = this.record;
    if (rec?.result && this.panel.isOpen)
      return rec as AnalysisRecord & { result: NonNullable<AnalysisRecord['result']> };
    void vscode.window.showInformationMessage('Attention Explorer: run "Show Attention for Selection" first.');
    return undefined;
  }

  /** Shows another layer/head in the panel (the hover and shading follow the page's summaries). */
  private showView(view: AttentionView | undefined): void {
    if (!view) return;
    this.view = view;
    this.panel.post({ type: 'setView', view });
  }

  /** Select Layer… / Select Head…: the chosen view goes to the panel. */
  private async pickView(pick: typeof pickLayer): Promise<void> {
    const rec = this.shownResult();
    if (rec) this.showView(await pick(rec.result.model, this.view));
  }

  /** Find Heads…: the page scores every head of the current result; the user picks by trait. */
  private async findHeads(): Promise<void> {
    const rec = this.shownResult();
    if (!rec) return;
    const { requestId } = rec;
    const heads = await this.headScores.ask(requestId, () => this.panel.post({ type: 'scoreHeads', requestId }));
    if (!heads) {
      void vscode.window.showWarningMessage(
        'Attention Explorer: the panel did not send its head scores; run Show Attention again.',
      );
      return;
    }
    this.showView(await pickHeadByScore(heads));
  }

  /** Export Attention… (also the panel's Export… button): format, file, then the page makes the bytes. */
  private async exportAttention(): Promise<void> {
    const rec = this.shownResult();
    if (!rec || !this.lastRequest) return;
    const target = await chooseExport(this.lastRequest.source, this.view);
    if (!target) return;
    const { requestId } = rec;
    const { format } = target;
    const made = await this.exports.ask(requestId, () => this.panel.post({ type: 'export', requestId, format }));
    if (!made?.data) {
      const why = made?.error ?? 'the panel did not answer; run Show Attention again';
      void vscode.window.showErrorMessage(`Attention Explorer: could not export: ${why}`);
      return;
    }
    await writeExport(target.uri, made.data, this.log);
  }

  /** Knock Out Heads…: the ticked heads knocked out, and the panel's text run again. */
  private async knockOutHeads(): Promise<void> {
    const rec = this.shownResult();
    if (!rec) return;
    const heads = await pickHeadsToKnockOut(rec.result.model, this.view.layer);
    if (heads) this.panel.post({ type: 'intervene', requestId: rec.requestId, heads, hidden: [] });
  }

  /** Hide Selection from Attention: the selected tokens hidden from every other token, and the text run again. */
  private hideSelection(): void {
    const rec = this.shownResult();
    if (!rec) return;
    const found = selectionToHide(rec, vscode.window.activeTextEditor);
    if ('message' in found) void vscode.window.showInformationMessage(`Attention Explorer: ${found.message}`);
    else this.panel.post({ type: 'intervene', requestId: rec.requestId, heads: [], hidden: found.units });
  }

  clear(): void {
    this.editor.clear();
    this.panel.post({ type: 'clear' });
  }

  revealToken(index: unknown): void {
    const n = this.record?.result?.tokens.length ?? 0;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n) return;
    this.panel.ensure();
    this.panel.post({ type: 'revealToken', index });
  }

  dispose(): void {
    this.panel.dispose();
    disposeAll(this.disposables);
  }
}
