import * as vscode from 'vscode';
import type { BackendSetting } from '../common/protocol';

const SECTION = 'attentionExplorer';
const DEFAULT_HUB = 'https://huggingface.co';

export interface Settings {
  model: string;
  backend: BackendSetting;
  maxTokens: number;
  topK: number;
  editorHighlight: boolean;
  predictions: boolean;
}

/** The extension's settings, read fresh each time and clamped to what package.json allows. */
export function settings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const backend = c.get<string>('backend', 'auto');
  return {
    model: c.get<string>('model', '').trim(),
    backend: backend === 'webgpu' || backend === 'wasm' ? backend : 'auto',
    maxTokens: Math.max(1, Math.floor(c.get<number>('maxTokens', 1024))),
    topK: Math.max(1, Math.min(20, Math.floor(c.get<number>('topK', 5)))),
    editorHighlight: c.get<boolean>('editorHighlight', true),
    predictions: c.get<boolean>('predictions', false),
  };
}

/** The Hub (or mirror) that model ids are downloaded from, without a trailing slash. */
export function hubEndpoint(): string {
  const v = vscode.workspace.getConfiguration(SECTION).get<string>('hubEndpoint', DEFAULT_HUB);
  return v.replace(/\/+$/, '') || DEFAULT_HUB;
}

/** Sets the model (user settings): '' for the bundled model, else a path. */
export async function setModelSetting(value: string): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update('model', value, vscode.ConfigurationTarget.Global);
}

/** Turns the predictions on or off (user settings). */
export async function setPredictionsSetting(on: boolean): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update('predictions', on, vscode.ConfigurationTarget.Global);
}

export function affectsModel(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.model`);
}
