import * as vscode from 'vscode';
import { AttentionController } from './host/controller';

/** Wires the host's parts together; nothing else. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Attention Explorer', { log: true });
  const controller = new AttentionController(context, log);
  controller.register();
  context.subscriptions.push(controller, log);
}

export function deactivate(): void {}
