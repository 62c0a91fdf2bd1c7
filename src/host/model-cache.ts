import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The models downloaded from the Hub, kept under the extension's global storage as
 * `models/OWNER/NAME/` (the Hub's own layout below that). Plain Node: no `vscode`, unit-tested.
 */
export interface CachedModel {
  /** `OWNER/NAME`, as the user typed it. */
  repo: string;
  dir: string;
  bytes: number;
}

export function modelCacheRoot(globalStorage: string): string {
  return path.join(globalStorage, 'models');
}

/** The folder a Hub model id is downloaded into. */
export function cachedModelDir(root: string, repo: string): string {
  return path.join(root, ...repo.split('/'));
}

function folderBytes(dir: string): number {
  let sum = 0;
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.statSync(path.join(dir, f), { throwIfNoEntry: false });
    if (st?.isFile()) sum += st.size;
  }
  return sum;
}

const subfolders = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

/** The cached models with their sizes on disk; stray files in the cache are not models and are skipped. */
export function listCachedModels(root: string): CachedModel[] {
  if (!fs.existsSync(root)) return [];
  return subfolders(root).flatMap((owner) =>
    subfolders(path.join(root, owner)).map((name) => {
      const dir = path.join(root, owner, name);
      return { repo: `${owner}/${name}`, dir, bytes: folderBytes(dir) };
    }),
  );
}

/** Deletes a cached model's folder, and its owner's folder when that is left empty. */
export function deleteCachedModel(model: CachedModel): void {
  fs.rmSync(model.dir, { recursive: true, force: true });
  const owner = path.dirname(model.dir);
  if (fs.existsSync(owner) && fs.readdirSync(owner).length === 0) fs.rmdirSync(owner);
}

/** True when `modelPath` (a setting or a recent entry) lies inside the deleted model's folder. */
export function isInside(modelPath: string, model: CachedModel): boolean {
  const rel = path.relative(model.dir, modelPath);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
