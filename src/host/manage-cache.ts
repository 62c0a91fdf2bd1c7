import * as vscode from 'vscode';
import { deleteCachedModel, isInside, listCachedModels, type CachedModel } from './model-cache';
import type { RecentModels } from './recent-models';
import { setModelSetting, settings } from './settings';

export interface CacheChanges {
  /** The panel's own cache (prepared graphs, the runtime) is to be emptied. */
  clearPanelCache: boolean;
  deleted: CachedModel[];
}

const NOTHING: CacheChanges = { clearPanelCache: false, deleted: [] };

/**
 * The Manage Model Cache command: lists the downloaded models with their sizes, and the panel's
 * own cache; deletes what the user picks. A deleted model that was the current one gives way to
 * the bundled model, and leaves the recent list.
 */
export async function manageCache(
  cacheRoot: string,
  recent: RecentModels,
  log: vscode.LogOutputChannel,
): Promise<CacheChanges> {
  // The panel's cache lives in the webview's storage: the host cannot empty it itself; the next
  // page the panel loads does.
  const panelItem = {
    label: '$(database) Prepared graphs and runtime kept by the panel',
    description: 'rebuilt on the next load',
    model: undefined,
  };
  const modelItems = listCachedModels(cacheRoot).map((model) => ({
    label: model.repo,
    description: `${(model.bytes / 1024 ** 2).toFixed(1)} MB`,
    detail: model.dir,
    model,
  }));
  const picked = await vscode.window.showQuickPick([panelItem, ...modelItems], {
    title: 'Attention Explorer: Model Cache — pick what to delete',
    canPickMany: true,
  });
  if (!picked?.length) return NOTHING;
  const deleted = picked.flatMap((p) => (p.model ? [p.model] : []));
  const current = settings().model;
  for (const model of deleted) {
    deleteCachedModel(model);
    log.info(`deleted ${model.repo} from the cache`);
    if (current && isInside(current, model)) await setModelSetting('');
  }
  if (deleted.length) {
    await recent.removeWhere((p) => deleted.some((model) => isInside(p, model)));
    void vscode.window.showInformationMessage(`Attention Explorer: deleted ${deleted.map((m) => m.repo).join(', ')}.`);
  }
  return { clearPanelCache: picked.includes(panelItem), deleted };
}
