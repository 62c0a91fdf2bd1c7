import * as vscode from 'vscode';
import type { AnalysisRecord } from './analysis-record';
import { modelShape } from '../common/model-shape';

/** The model, the backend (WebGPU / wasm) and the last run's time, in the status bar. */
export class AttentionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'attentionExplorer.status',
    vscode.StatusBarAlignment.Right,
    100,
  );

  constructor() {
    this.item.name = 'Attention Explorer';
    this.item.command = 'attentionExplorer.selectHead';
  }

  running(model: string): void {
    this.item.text = `$(loading~spin) ${model}`;
    this.item.tooltip = 'Attention Explorer: running the model';
    this.item.show();
  }

  show(record: AnalysisRecord): void {
    const r = record.result;
    if (!r) return;
    const backend = r.backend === 'webgpu' ? 'WebGPU' : 'wasm';
    this.item.text = `$(eye) ${r.model.name} · ${backend} · ${r.runMs.toFixed(0)} ms${record.stale ? ' · stale' : ''}`;
    const md = new vscode.MarkdownString(
      `**Attention Explorer**\n\nmodel: ${r.model.name} (${modelShape(r.model.layers, r.model.heads)})\n\nbackend: ${backend}${r.backendNote ? ` — ${r.backendNote}` : ''}\n\nlast run: ${r.runMs.toFixed(1)} ms for ${r.tokens.length} tokens\n\nClick to choose a head.`,
    );
    this.item.tooltip = md;
    this.item.show();
  }

  error(message: string): void {
    this.item.text = '$(error) Attention Explorer';
    this.item.tooltip = message;
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
