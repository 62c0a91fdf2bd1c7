import * as vscode from 'vscode';
import { modelFromHub } from './hub-pick';
import { memoryRefusal } from './model-memory';
import { resolveLocalModel } from './model-source';
import type { RecentModels } from './recent-models';
import { hubEndpoint, setModelSetting, settings } from './settings';

type Choice = vscode.QuickPickItem & { value?: string; browse?: boolean; hub?: boolean };

function choices(recent: string[], current: string): Choice[] {
  const mark = (v: string): string | undefined => (current === v ? 'current' : undefined);
  const shortName = (p: string): string => p.split(/[\\/]/).slice(-2).join('/');
  return [
    { label: '$(package) code-prose-gpt', description: 'bundled · 4 layers × 8 heads', detail: mark(''), value: '' },
    ...recent.map((p) => ({ label: `$(file) ${shortName(p)}`, description: p, detail: mark(p), value: p })),
    { label: '$(folder-opened) Open ONNX file or folder…', browse: true },
    { label: '$(cloud-download) Hugging Face model id…', description: hubEndpoint(), hub: true },
  ];
}

async function browse(): Promise<string | undefined> {
  const uris = await vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    filters: { 'ONNX model': ['onnx'] },
    openLabel: 'Use this model',
  });
  return uris?.[0]?.fsPath;
}

/**
 * The Choose Model command: the bundled model, a recent one, a file or folder, or a Hub model id.
 * A usable choice is written to the `attentionExplorer.model` setting; true when it was.
 */
export async function chooseModel(
  recent: RecentModels,
  cacheRoot: string,
  log: vscode.LogOutputChannel,
): Promise<boolean> {
  const pick = await vscode.window.showQuickPick(choices(recent.list(), settings().model), {
    title: 'Attention Explorer: Choose Model',
    placeHolder: 'the model that the panel runs',
  });
  if (!pick) return false;
  const value = pick.hub ? await modelFromHub(cacheRoot, log) : pick.browse ? await browse() : pick.value;
  if (value === undefined) return false;
  if (value) {
    try {
      const refusal = memoryRefusal(resolveLocalModel(value), settings().maxTokens);
      if (refusal) throw new Error(refusal);
    } catch (e) {
      void vscode.window.showErrorMessage(`Attention Explorer: ${(e as Error).message}`);
      return false;
    }
    await recent.add(value);
  }
  await setModelSetting(value);
  return true;
}
