import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root: the nearest folder above the built file that holds package.json. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
export const ROOT = findRoot(__dirname);
export const SHARED = process.env.ATTENTION_EXPLORER_SHARED ?? path.join(ROOT, '..', 'shared');
export const FIXTURES = path.join(SHARED, 'fixtures', 'hf');
export const BUNDLED_MODEL_DIR = path.join(ROOT, 'media', 'model');
export const OUTPUT_DIR = path.join(ROOT, '.test-output');

export interface Reference {
  input_ids: number[][];
  attentions: number[][][][];
}

export function readReference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.attentions.json`), 'utf8')) as Reference;
}

/** Largest absolute difference over every layer, head, query and key (DESIGN.md's truth for numbers). */
export function maxAbsDiff(got: ArrayLike<number>[] /* per layer [H*T*T] */, ref: number[][][][]): number {
  let worst = 0;
  ref.forEach((layer, l) => {
    const t = layer[0].length;
    layer.forEach((head, h) =>
      head.forEach((row, q) =>
        row.forEach((v, k) => {
          worst = Math.max(worst, Math.abs(got[l][(h * t + q) * t + k] - v));
        }),
      ),
    );
  });
  return worst;
}

export function outputDir(name: string): string {
  const d = path.join(OUTPUT_DIR, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}
