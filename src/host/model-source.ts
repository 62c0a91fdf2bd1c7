import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where a model's files are. The bundled model and a user's local model (a `.onnx` file, or a
 * folder in the Hub's layout) resolve to the same shape; the webview loads each file by URL.
 */
export interface ModelFiles {
  /** 'bundled', or the absolute path the user chose. */
  id: string;
  name: string;
  graph: string;
  tokenizer: string;
  config?: string;
  tokenizerConfig?: string;
  /** Folders the webview may read: the graph's and the tokenizer's. */
  roots: string[];
}

export class ModelSourceError extends Error {}

/**
 * The graph a model folder is opened with, first found first: a whole model; else the encoder of
 * an encoder-decoder export (T5, BART: its self-attention is over the text the user selected,
 * while the decoder's is over generated text); else a decoder exported with a cache, merged
 * (one If on use_cache_branch, which the engine inlines) or not.
 */
export const GRAPH_FILES = ['model.onnx', 'encoder_model.onnx', 'decoder_model_merged.onnx', 'decoder_model.onnx'];

const MAX_MODEL_BYTES = 2 * 1024 ** 3;

function optional(p: string): string | undefined {
  return fs.existsSync(p) ? p : undefined;
}

/**
 * Resolves a `.onnx` file or a model folder (`model.onnx` or `onnx/model.onnx`, with
 * `tokenizer.json` beside it or one level up) into its files, or says what is missing.
 * External data files are found by the engine, which reads their names from the graph and loads
 * them from the graph's folder.
 */
export function resolveLocalModel(chosen: string, id = chosen): ModelFiles {
  if (!fs.existsSync(chosen)) throw new ModelSourceError(`${chosen} does not exist.`);
  let graph: string;
  if (fs.statSync(chosen).isDirectory()) {
    const dirs = [chosen, path.join(chosen, 'onnx')];
    const found = GRAPH_FILES.flatMap((f) => dirs.map((d) => path.join(d, f))).find((c) => fs.existsSync(c));
    if (!found) {
      const any = dirs.flatMap((d) =>
        fs.existsSync(d) && fs.statSync(d).isDirectory()
          ? fs
              .readdirSync(d)
              .filter((f) => f.endsWith('.onnx'))
              .map((f) => path.join(d, f))
          : [],
      );
      if (any.length !== 1) {
        const names = any.map((f) => path.relative(chosen, f)).join(', ');
        throw new ModelSourceError(
          `${chosen} holds none of ${GRAPH_FILES.join(', ')} (nor under onnx/)${any.length ? `; it has ${names}: choose one of them` : ''}.`,
        );
      }
      graph = any[0];
    } else graph = found;
  } else {
    if (!chosen.endsWith('.onnx')) throw new ModelSourceError(`${path.basename(chosen)} is not an .onnx file.`);
    graph = chosen;
  }
  const size = fs.statSync(graph).size;
  if (size > MAX_MODEL_BYTES) {
    throw new ModelSourceError(
      `${path.basename(graph)} is ${(size / 1024 ** 3).toFixed(1)} GB; graphs over 2 GB cannot be opened in a webview (protobuf's limit). Use a model whose weights are in an external data file.`,
    );
  }
  const dir = path.dirname(graph);
  const homes = path.basename(dir) === 'onnx' ? [dir, path.dirname(dir)] : [dir];
  const home = homes.find((h) => fs.existsSync(path.join(h, 'tokenizer.json')));
  if (!home)
    throw new ModelSourceError(
      `No tokenizer.json next to ${path.basename(graph)} (looked in ${homes.join(' and ')}). Attention Explorer needs the model's Hugging Face tokenizer.json to turn text into tokens.`,
    );
  const base = path.basename(graph);
  return {
    id,
    name:
      path.basename(homes[homes.length - 1]) === 'onnx'
        ? base
        : `${path.basename(homes[homes.length - 1])}${base === 'model.onnx' ? '' : `/${base}`}`,
    graph,
    tokenizer: path.join(home, 'tokenizer.json'),
    config: optional(path.join(home, 'config.json')),
    tokenizerConfig: optional(path.join(home, 'tokenizer_config.json')),
    roots: [...new Set([dir, home])],
  };
}

export function bundledModel(extensionPath: string): ModelFiles {
  const m = resolveLocalModel(path.join(extensionPath, 'media', 'model'), 'bundled');
  return { ...m, name: 'code-prose-gpt' };
}
