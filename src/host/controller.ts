import * as vscode from 'vscode';
import { headLabel, type AttentionView, type BackendSetting, type HeadChoice, type HostToWebview, type WebviewToHost } from '../common/protocol';
import { applyChange, recordResult, tokenAtOffset, tokenDocRange, type AnalysisRecord } from './analysis-record';
import { AttentionDecorations } from './decorations';
import { hoverMarkdown } from './hover-text';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HubError, downloadHubModel, hubGraphs, hubRepoExists } from './hub-download';
import { bundledModel, resolveLocalModel, type ModelFiles } from './model-source';
import { AttentionPanel, PANEL_VIEW_TYPE } from './panel';
import { pickRange } from './pick-range';
import { AttentionStatusBar } from './status-bar';

const REVEAL_COMMAND = 'attentionExplorer.revealToken';

const RECENT_KEY = 'attentionExplorer.recentModels';
type AnalyzeMessage = Extract<HostToWebview, { type: 'analyze' }>;

interface Settings {
  model: string;
  backend: BackendSetting;
  maxTokens: number;
  topK: number;
  editorHighlight: boolean;
}

function hubEndpoint(): string {
  return vscode.workspace.getConfiguration('attentionExplorer').get<string>('hubEndpoint', 'https://huggingface.co').replace(/\/+$/, '') || 'https://huggingface.co';
}

function settings(): Settings {
  const c = vscode.workspace.getConfiguration('attentionExplorer');
  const backend = c.get<string>('backend', 'auto');
  return {
    model: c.get<string>('model', '').trim(),
    backend: backend === 'webgpu' || backend === 'wasm' ? backend : 'auto',
    maxTokens: Math.max(1, Math.floor(c.get<number>('maxTokens', 1024))),
    topK: Math.max(1, Math.min(20, Math.floor(c.get<number>('topK', 5)))),
    editorHighlight: c.get<boolean>('editorHighlight', true),
  };
}

/**
 * The host's state and behaviour: which analysis is current, the panel, and the editor features
 * resting on the token → document mapping (hover, decorations, reveal).
 */
export class AttentionController implements vscode.Disposable {
  private panel?: AttentionPanel;
  private record?: AnalysisRecord;
  private nextId = 1;
  private view: AttentionView = { layer: 0, head: 'mean' };
  private lastRequest?: AnalyzeMessage;
  /** The model the panel's page was last loaded with. */
  private loadedModel?: ModelFiles;
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private readonly decorations = new AttentionDecorations();
  private readonly status = new AttentionStatusBar();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {}

  register(): void {
    const cmd = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(id, fn);
    this.disposables.push(
      cmd('attentionExplorer.showAttention', () => this.showAttention()),
      cmd('attentionExplorer.selectLayer', () => this.selectLayer()),
      cmd('attentionExplorer.selectHead', () => this.selectHead()),
      cmd('attentionExplorer.clearAttention', () => this.clear()),
      cmd('attentionExplorer.chooseModel', () => this.chooseModel()),
      cmd('attentionExplorer.manageCache', () => this.manageCache()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionExplorer.model')) this.onModelSetting();
      }),
      cmd(REVEAL_COMMAND, (index: unknown) => this.revealToken(index)),
      vscode.languages.registerHoverProvider({ scheme: '*' }, { provideHover: (doc, pos) => this.provideHover(doc, pos) }),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => this.revive(panel, state),
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onCursor(e.textEditor)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      this.decorations,
      this.status,
    );
  }

  // ---- the panel ----

  // ---- the model ----

  /** The model the setting names, or the bundled one (with a message) when it cannot be used. */
  private currentModel(): ModelFiles {
    const chosen = settings().model;
    const bundled = bundledModel(this.context.extensionPath);
    if (!chosen) return bundled;
    try {
      return resolveLocalModel(chosen);
    } catch (e) {
      void vscode.window.showErrorMessage(`Attention Explorer: cannot use the model ${chosen}: ${(e as Error).message} Using the bundled model.`);
      return bundled;
    }
  }

  async chooseModel(): Promise<void> {
    const recent = this.context.globalState.get<string[]>(RECENT_KEY, []);
    const current = settings().model;
    type Item = vscode.QuickPickItem & { value?: string; browse?: boolean; hub?: boolean };
    const items: Item[] = [
      { label: '$(package) code-prose-gpt', description: 'bundled · 4 layers × 8 heads', detail: current === '' ? 'current' : undefined, value: '' },
      ...recent.map((p) => ({ label: `$(file) ${p.split(/[\\/]/).slice(-2).join('/')}`, description: p, detail: current === p ? 'current' : undefined, value: p })),
      { label: '$(folder-opened) Open ONNX file or folder…', browse: true },
      { label: '$(cloud-download) Hugging Face model id…', description: hubEndpoint(), hub: true },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Attention Explorer: Choose Model', placeHolder: 'the model that the panel runs' });
    if (!pick) return;
    let value = pick.value;
    if (pick.hub) {
      value = await this.fromHub();
      if (!value) return;
    } else if (pick.browse) {
      const uris = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, canSelectMany: false, filters: { 'ONNX model': ['onnx'] }, openLabel: 'Use this model' });
      if (!uris?.length) return;
      value = uris[0].fsPath;
    }
    if (value === undefined) return;
    if (value) {
      try {
        resolveLocalModel(value);
      } catch (e) {
        void vscode.window.showErrorMessage(`Attention Explorer: ${(e as Error).message}`);
        return;
      }
      await this.context.globalState.update(RECENT_KEY, [value, ...recent.filter((r) => r !== value)].slice(0, 5));
    }
    await vscode.workspace.getConfiguration('attentionExplorer').update('model', value, vscode.ConfigurationTarget.Global);
    this.onModelSetting();
  }

  private cacheRoot(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'models');
  }

  /** Asks for a model id, offers its variants, downloads it into the cache; the graph's path, or undefined. */
  private async fromHub(): Promise<string | undefined> {
    const endpoint = hubEndpoint();
    const repo = (
      await vscode.window.showInputBox({
        title: 'Attention Explorer: Hugging Face model id',
        prompt: `A model repository with ONNX files, from ${endpoint}`,
        placeHolder: 'Xenova/bert-base-uncased',
        validateInput: (v) => (/^[\w.-]+\/[\w.-]+$/.test(v.trim()) ? undefined : 'owner/name, e.g. Xenova/bert-base-uncased'),
      })
    )?.trim();
    if (!repo) return undefined;
    try {
      const graphs = await hubGraphs(endpoint, repo);
      if (graphs.length === 0 && !(await hubRepoExists(endpoint, repo))) {
        void vscode.window.showErrorMessage(`Attention Explorer: ${repo} was not found on ${endpoint} (no such model id, or it is private). Check the id, e.g. Xenova/bert-base-uncased.`);
        return undefined;
      }
      if (graphs.length === 0) {
        void vscode.window.showErrorMessage(`Attention Explorer: ${repo} has no ONNX model (looked for model.onnx, encoder_model.onnx, decoder_model_merged.onnx and decoder_model.onnx, at the top and under onnx/, and their quantized, fp16 and int8 variants).`);
        return undefined;
      }
      let graph = graphs[0];
      if (graphs.length > 1) {
        const pick = await vscode.window.showQuickPick(graphs.map((g) => ({ label: g, description: /quantized|int8/.test(g) ? 'int8' : /fp16/.test(g) ? 'float16' : 'float32' })), { title: `Attention Explorer: which ${repo} graph?` });
        if (!pick) return undefined;
        graph = pick.label;
      }
      const folder = path.join(this.cacheRoot(), ...repo.split('/'));
      const local = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Attention Explorer: downloading ${repo}`, cancellable: true },
        (progress, token) => {
          const ac = new AbortController();
          token.onCancellationRequested(() => ac.abort());
          let lastPct = 0;
          return downloadHubModel({
            endpoint, repo, graph, folder, signal: ac.signal,
            onProgress: (file, received, total) => {
              const pct = total ? Math.floor((100 * received) / total) : 0;
              const mb = (n: number): string => (n / 1024 ** 2).toFixed(1);
              progress.report({ message: `${file}: ${mb(received)}${total ? ` of ${mb(total)} MB (${pct}%)` : ' MB'}`, increment: total ? Math.max(0, pct - lastPct) / 1 : undefined });
              lastPct = pct;
            },
          });
        },
      );
      this.log.info(`downloaded ${repo} (${graph}) into ${folder}`);
      return local;
    } catch (e) {
      const m = (e as Error).message;
      if (e instanceof HubError && e.kind === 'cancelled') void vscode.window.showInformationMessage(`Attention Explorer: ${m}`);
      else void vscode.window.showErrorMessage(`Attention Explorer: could not get ${repo}: ${m}`);
      this.log.error(`hub: ${m}`);
      return undefined;
    }
  }

  /** Lists the models in the cache with their sizes; the chosen ones are deleted. */
  async manageCache(): Promise<void> {
    const root = this.cacheRoot();
    const repos: { repo: string; dir: string; bytes: number }[] = [];
    const sizeOf = (dir: string): number =>
      (fs.readdirSync(dir, { recursive: true }) as string[])
        .map((f) => fs.statSync(path.join(dir, f)))
        .reduce((sum, st) => sum + (st.isFile() ? st.size : 0), 0);
    if (fs.existsSync(root)) {
      for (const owner of fs.readdirSync(root)) {
        for (const name of fs.readdirSync(path.join(root, owner))) {
          const dir = path.join(root, owner, name);
          repos.push({ repo: `${owner}/${name}`, dir, bytes: sizeOf(dir) });
        }
      }
    }
    // The panel's own cache (prepared graphs, the runtime) lives in the webview's storage: it is
    // emptied by the next page the panel loads, reloaded now when one is open.
    const panelCache = { label: '$(database) Prepared graphs and runtime kept by the panel', description: 'rebuilt on the next load', r: undefined };
    const picked = await vscode.window.showQuickPick(
      [panelCache, ...repos.map((r) => ({ label: r.repo, description: `${(r.bytes / 1024 ** 2).toFixed(1)} MB`, detail: r.dir, r }))],
      { title: 'Attention Explorer: Model Cache — pick what to delete', canPickMany: true },
    );
    if (!picked?.length) return;
    if (picked.includes(panelCache)) {
      AttentionPanel.clearCacheOnNextLoad = true;
      this.log.info("the panel's cache of prepared graphs will be emptied");
      if (this.panel && this.loadedModel) {
        this.panel.load(this.loadedModel, settings().backend);
        if (this.lastRequest && this.record) this.post({ ...this.lastRequest, requestId: this.record.requestId });
      }
    }
    const picks = picked.flatMap((p) => (p.r ? [{ r: p.r }] : []));
    if (!picks.length) return;
    const current = settings().model;
    for (const p of picks) {
      fs.rmSync(p.r.dir, { recursive: true, force: true });
      this.log.info(`deleted ${p.r.repo} from the cache`);
      if (current.startsWith(p.r.dir)) await vscode.workspace.getConfiguration('attentionExplorer').update('model', '', vscode.ConfigurationTarget.Global);
    }
    const recent = this.context.globalState.get<string[]>(RECENT_KEY, []);
    await this.context.globalState.update(RECENT_KEY, recent.filter((r) => !picks.some((p) => r.startsWith(p.r.dir))));
    this.onModelSetting();
    void vscode.window.showInformationMessage(`Attention Explorer: deleted ${picks.map((p) => p.r.repo).join(', ')}.`);
  }

  /** A new model: the panel reloads its page for it and runs the last request again. */
  private onModelSetting(): void {
    const model = this.currentModel();
    // The change may arrive twice (from Choose Model and from the configuration event).
    if (model.graph === this.loadedModel?.graph) return;
    this.loadedModel = model;
    this.log.info(`model: ${model.name} (${model.graph})`);
    if (!this.panel) return;
    this.panel.load(model, settings().backend);
    if (this.lastRequest && this.record) {
      const requestId = this.nextId++;
      this.record = { ...this.record, requestId, result: undefined, stale: false };
      this.post({ ...this.lastRequest, requestId });
      this.status.running(model.name);
    }
  }

  private ensurePanel(): AttentionPanel {
    if (!this.panel) {
      const model = this.currentModel();
      this.loadedModel = model;
      this.panel = AttentionPanel.create(this.context.extensionUri, model, settings().backend, (m) => this.onMessage(m), this.log, () => this.onPanelClosed());
    } else {
      this.panel.reveal();
    }
    return this.panel;
  }

  private revive(panel: vscode.WebviewPanel, state: unknown): void {
    this.panel?.dispose();
    const model = this.currentModel();
    this.loadedModel = model;
    this.panel = AttentionPanel.revive(panel, this.context.extensionUri, model, settings().backend, (m) => this.onMessage(m), this.log, () => this.onPanelClosed());
    // The restored page re-runs its saved request itself; take up its origin to map the result.
    const request = (state as { request?: Extract<HostToWebview, { type: 'analyze' }> } | undefined)?.request;
    if (request && typeof request.origin?.uri === 'string') {
      this.record = { requestId: request.requestId, uri: request.origin.uri, baseOffset: request.origin.offset, textLength: request.text.length, stale: false };
      this.nextId = Math.max(this.nextId, request.requestId + 1);
    }
  }

  private onPanelClosed(): void {
    this.panel = undefined;
    this.decorations.clear();
    this.status.hide();
    for (const resolve of this.pending.values()) resolve(false);
    this.pending.clear();
  }

  private post(m: HostToWebview): void {
    this.panel?.post(m);
  }

  private onMessage(m: WebviewToHost): void {
    const rec = this.record;
    switch (m.type) {
      case 'ready':
      case 'progress':
        return;
      case 'result':
        if (!rec || rec.requestId !== m.requestId) return;
        recordResult(rec, m);
        this.view = m.view;
        this.status.show(rec);
        this.log.info(`analysed ${m.tokens.length} tokens on ${m.backend} in ${m.runMs.toFixed(1)} ms${m.truncated ? ' (cut at maxTokens)' : ''}${m.backendNote ? `; ${m.backendNote}` : ''}`);
        this.pending.get(m.requestId)?.(true);
        this.pending.delete(m.requestId);
        this.refreshDecorations();
        return;
      case 'summary':
        if (rec?.result && rec.requestId === m.requestId) {
          rec.result.view = m.view;
          rec.result.summaries = m.summaries;
          this.view = m.view;
          this.refreshDecorations();
        }
        return;
      case 'focusToken':
        // The panel's hovered or pinned token shades the editor too.
        if (rec?.result && rec.requestId === m.requestId && m.index !== null && m.index < rec.result.tokens.length) {
          const editor = this.editorFor(rec);
          if (editor && settings().editorHighlight) this.decorations.show(editor, rec, m.index);
        }
        return;
      case 'superseded':
        // A newer request took its place in the panel: whoever waited on it stops waiting.
        this.pending.get(m.requestId)?.(false);
        this.pending.delete(m.requestId);
        return;
      case 'restart': {
        // The page's runtime is stuck (a WebGPU device lost mid-run): a fresh page on
        // WebAssembly runs the same request, under the same id, so nothing waiting on it is lost.
        this.log.warn(`the panel's runtime stopped (${m.reason}); reloading it on WebAssembly`);
        const model = this.loadedModel;
        if (!this.panel || !model) return;
        this.panel.load(model, 'wasm', `Restarted the panel on WebAssembly: ${m.reason}.`);
        if (this.lastRequest && m.requestId !== null && m.requestId === this.record?.requestId) {
          this.post({ ...this.lastRequest, requestId: m.requestId, settings: { ...this.lastRequest.settings, backend: 'wasm' } });
        }
        return;
      }
      case 'error':
        this.log.error(`analysis failed: ${m.message}`);
        this.status.error(m.message);
        if (m.requestId !== null) {
          this.pending.get(m.requestId)?.(false);
          this.pending.delete(m.requestId);
        }
        void vscode.window.showErrorMessage(`Attention Explorer: ${m.message}`);
        return;
    }
  }

  // ---- commands ----

  async showAttention(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Attention Explorer: open a file and select some code or prose first.');
      return;
    }
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
      void vscode.window.showInformationMessage(
        doc.getText().length === 0 ? 'Attention Explorer: the document is empty; there is nothing to analyse.' : 'Attention Explorer: nothing to analyse here; select some code or prose.',
      );
      return;
    }
    const text = doc.getText(new vscode.Range(doc.positionAt(choice.start), doc.positionAt(choice.end)));
    const s = settings();
    const requestId = this.nextId++;
    this.log.info(`show attention: request ${requestId}, ${text.length} characters`);
    this.record = { requestId, uri: doc.uri.toString(), baseOffset: choice.start, textLength: text.length, stale: false };
    this.decorations.clear();
    const panel = this.ensurePanel();
    const name = vscode.workspace.asRelativePath(doc.uri);
    this.lastRequest = {
      type: 'analyze',
      requestId,
      text,
      source: `${name}, ${choice.what}`,
      origin: { uri: doc.uri.toString(), offset: choice.start },
      settings: { backend: s.backend, maxTokens: s.maxTokens, topK: s.topK },
    };
    panel.post(this.lastRequest);
    panel.post({ type: 'setView', view: this.view });
    // ensurePanel() has loaded the panel's model: its name, not one guessed from the setting.
    const modelName = this.loadedModel?.name ?? 'code-prose-gpt';
    this.status.running(modelName);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Attention Explorer: running ${modelName}` },
      () => new Promise<boolean>((resolve) => this.pending.set(requestId, resolve)),
    );
  }

  private requireResult(): AnalysisRecord['result'] | undefined {
    const r = this.record?.result;
    if (!r || !this.panel) {
      void vscode.window.showInformationMessage('Attention Explorer: run "Show Attention for Selection" first.');
      return undefined;
    }
    return r;
  }

  async selectLayer(): Promise<void> {
    const r = this.requireResult();
    if (!r) return;
    const items = r.model.layerNames.map((name, l) => ({ label: `Layer ${l}`, description: name, picked: l === this.view.layer, layer: l }));
    const pick = await vscode.window.showQuickPick(items, { title: 'Attention Explorer: Select Layer', placeHolder: `current: layer ${this.view.layer}` });
    if (pick) this.setView({ layer: pick.layer, head: this.view.head });
  }

  async selectHead(): Promise<void> {
    const r = this.requireResult();
    if (!r) return;
    const choices: HeadChoice[] = ['mean', 'max', ...Array.from({ length: r.model.heads }, (_, h) => h)];
    const items = choices.map((head) => ({
      label: headLabel(head).replace(/^./, (c) => c.toUpperCase()),
      description: head === this.view.head ? 'current' : undefined,
      head,
    }));
    const pick = await vscode.window.showQuickPick(items, { title: `Attention Explorer: Select Head (layer ${this.view.layer})` });
    if (pick) this.setView({ layer: this.view.layer, head: pick.head });
  }

  private setView(view: AttentionView): void {
    this.view = view;
    this.post({ type: 'setView', view });
  }

  clear(): void {
    this.decorations.clear();
    this.post({ type: 'clear' });
  }

  revealToken(index: unknown): void {
    const rec = this.record;
    if (!rec?.result || typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= rec.result.tokens.length) return;
    this.ensurePanel();
    this.post({ type: 'revealToken', index });
  }

  // ---- the editor ----

  private editorFor(rec: AnalysisRecord): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active?.document.uri.toString() === rec.uri) return active;
    return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === rec.uri);
  }

  private onCursor(editor: vscode.TextEditor): void {
    const rec = this.record;
    if (!this.panel || !rec?.result || rec.stale || !settings().editorHighlight) return;
    if (editor.document.uri.toString() !== rec.uri) return;
    const index = tokenAtOffset(rec, editor.document.offsetAt(editor.selection.active));
    if (index === undefined) this.decorations.clear();
    else this.decorations.show(editor, rec, index);
  }

  private refreshDecorations(): void {
    const rec = this.record;
    const editor = rec && this.editorFor(rec);
    if (editor) this.onCursor(editor);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const rec = this.record;
    if (!rec || rec.stale || e.document.uri.toString() !== rec.uri || e.contentChanges.length === 0) return;
    // Changes in one event are applied from the end of the document backwards.
    const changes = [...e.contentChanges].sort((a, b) => b.rangeOffset - a.rangeOffset);
    for (const c of changes) {
      if (applyChange(rec, { offset: c.rangeOffset, length: c.rangeLength, insertedLength: c.text.length }) === 'stale') {
        this.decorations.clear();
        this.post({ type: 'setStale', stale: true });
        this.status.show(rec);
        this.log.info('the analysed text was edited: the result is marked stale');
        return;
      }
    }
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const rec = this.record;
    if (!rec?.result || doc.uri.toString() !== rec.uri) return undefined;
    const index = tokenAtOffset(rec, doc.offsetAt(pos));
    if (index === undefined) return undefined;
    const md = new vscode.MarkdownString(
      hoverMarkdown(rec, index, settings().topK, (o) => {
        const p = doc.positionAt(o);
        return { line: p.line + 1, column: p.character + 1 };
      }, REVEAL_COMMAND),
      true,
    );
    md.isTrusted = { enabledCommands: [REVEAL_COMMAND] };
    const { start, end } = tokenDocRange(rec, index);
    return new vscode.Hover(md, new vscode.Range(doc.positionAt(start), doc.positionAt(end)));
  }

  dispose(): void {
    this.panel?.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
