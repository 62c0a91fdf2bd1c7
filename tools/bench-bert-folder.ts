import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../test/support/paths';
import { bertTokenizerJson } from '../test/support/tokenizers';
import { MiB } from './bench-memory';
import { buildBertBase } from './bert-base-model';

/** The BERT-base-sized encoder as a model folder (graph, a WordPiece tokenizer, its context), for VS Code. */
export function bertBaseFolder(): string {
  const dir = path.join(ROOT, '.bench', 'bert-base');
  fs.mkdirSync(dir, { recursive: true });
  const graph = path.join(dir, 'model.onnx');
  if (!fs.existsSync(graph)) fs.linkSync(bertBaseFile(), graph);
  fs.writeFileSync(
    path.join(dir, 'tokenizer.json'),
    bertTokenizerJson(['def', 'return', 'for', 'in', 'range', 'print', 'a', 'b', 'n', 'i']),
  );
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', max_position_embeddings: 512 }));
  return dir;
}

export function bertBaseFile(): string {
  const file = path.join(ROOT, '.bench', 'bert-base-random.onnx');
  if (!fs.existsSync(file)) {
    const t = performance.now();
    fs.writeFileSync(file, buildBertBase());
    console.log(
      `made ${path.relative(ROOT, file)} (${MiB(fs.statSync(file).size)}) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  return file;
}
