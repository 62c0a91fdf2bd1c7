import * as vscode from 'vscode';
import type { HostToWebview, WebviewToHost } from '../common/protocol';
import { memoryRefusal } from './model-memory';
import { bundledModel, resolveLocalModel, type ModelFiles } from './model-source';
import { LocalFileServer } from './local-file-server';
import { AttentionPanel, type PanelDeps } from './panel';
import { settings } from './settings';

export interface ModelPanelOwner {
  onMessage(m: WebviewToHost): void;
  /** The page was reloaded (a new model, an emptied cache, a restart): `why` says which. */
  onReloaded(why: 'model' | 'cache' | 'restart'): void;
  onClosed(): void;
}

/**
 * The panel and the model its page runs: the panel is created on the first request (or revived
 * after a window reload), and its page reloaded when the model setting changes, when the panel's
 * cache is emptied, or on WebAssembly when its runtime stops.
 */
export class ModelPanel {
  private panel?: AttentionPanel;
  /** The model the panel's page was last loaded with. */
  private loaded?: ModelFiles;
  /** Started with the first page; null when it could not start (the page then uses VS Code's ways in). */
  private fileServer?: Promise<LocalFileServer | null>;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly owner: ModelPanelOwner,
  ) {}

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** The name of the model the panel runs (or will run once opened). */
  get modelName(): string {
    return (this.loaded ?? this.currentModel()).name;
  }

  /** The model the setting names, or the bundled one (with a message) when it cannot be used. */
  private currentModel(): ModelFiles {
    const chosen = settings().model;
    const bundled = bundledModel(this.context.extensionPath);
    if (!chosen) return bundled;
    try {
      const model = resolveLocalModel(chosen);
      // Refused before the panel's worker runs out of memory half-way through the load.
      const refusal = memoryRefusal(model, settings().maxTokens);
      if (refusal) throw new Error(refusal);
      return model;
    } catch (e) {
      const why = (e as Error).message;
      void vscode.window.showErrorMessage(
        `Attention Explorer: cannot use the model ${chosen}: ${why} Using the bundled model.`,
      );
      return bundled;
    }
  }

  /** Opens the panel (loading the current model) or brings it forward. */
  ensure(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const model = (this.loaded = this.currentModel());
    this.panel = AttentionPanel.create(this.deps(), model, settings().backend);
  }

  /** Takes up a panel VS Code restored after a window reload. */
  revive(panel: vscode.WebviewPanel): void {
    this.panel?.dispose();
    const model = (this.loaded = this.currentModel());
    this.panel = AttentionPanel.revive(panel, this.deps(), model, settings().backend);
  }

  private deps(): PanelDeps {
    return {
      extensionUri: this.context.extensionUri,
      fileServer: () =>
        (this.fileServer ??= LocalFileServer.start().catch((e: Error) => {
          this.log.warn(`no local file server (${e.message}): the panel's files come through VS Code`);
          return null;
        })),
      onMessage: (m) => this.owner.onMessage(m),
      log: this.log,
      onDispose: () => {
        this.panel = undefined;
        this.owner.onClosed();
      },
    };
  }

  post(m: HostToWebview): void {
    this.panel?.post(m);
  }

  /** The model setting changed: a new model means a new page, with its own session. */
  onModelSetting(): void {
    const model = this.currentModel();
    // The change may arrive twice (from Choose Model and from the configuration event).
    if (model.graph === this.loaded?.graph) return;
    this.loaded = model;
    this.log.info(`model: ${model.name} (${model.graph})`);
    if (!this.panel) return;
    this.panel.load(model, settings().backend);
    this.owner.onReloaded('model');
  }

  /** Manage Model Cache emptied the panel's cache: an open panel reloads and prepares its graph again. */
  clearCache(): void {
    AttentionPanel.clearCacheOnNextLoad = true;
    this.log.info("the panel's cache of prepared graphs will be emptied");
    if (!this.panel || !this.loaded) return;
    this.panel.load(this.loaded, settings().backend);
    this.owner.onReloaded('cache');
  }

  /** The page's runtime is stuck (a WebGPU device lost mid-run): a fresh page, on WebAssembly. */
  restartOnWasm(reason: string): boolean {
    this.log.warn(`the panel's runtime stopped (${reason}); reloading it on WebAssembly`);
    if (!this.panel || !this.loaded) return false;
    this.panel.load(this.loaded, 'wasm', `Restarted the panel on WebAssembly: ${reason}.`);
    return true;
  }

  dispose(): void {
    this.panel?.panel.dispose();
    void this.fileServer?.then((s) => s?.close());
  }
}
