import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  describeEstimate,
  estimateMemory,
  formatBytes,
  shapeFromConfig,
  tokensThatFit,
  windowTokens,
} from '../common/memory-estimate';
import { GRAPH_VARIANTS } from './hub-download';
import type { ModelFiles } from './model-source';

/** The graph and the external data files beside it (`x.onnx_data`, `x.onnx.data`, `x.onnx_data_1`, …). */
export function localWeightBytes(graph: string): number {
  const dir = path.dirname(graph);
  const base = path.basename(graph);
  return fs
    .readdirSync(dir)
    .filter((f) => f === base || f.startsWith(`${base}_data`) || f === `${base}.data`)
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/**
 * Why the model would not fit in the panel's memory with this maxTokens, or undefined when it fits
 * (or config.json does not say its shape). The reason names what would fit: a smaller variant of
 * the same graph beside it, or a maxTokens.
 */
export function memoryRefusal(model: ModelFiles, maxTokens: number): string | undefined {
  const shape = shapeFromConfig(model.config ? fs.readFileSync(model.config, 'utf8') : undefined);
  if (!shape) return undefined;
  const tokens = windowTokens(shape, maxTokens);
  const weights = localWeightBytes(model.graph);
  const estimate = estimateMemory(weights, shape, tokens);
  if (estimate.fits) return undefined;
  const stem = path.basename(model.graph, '.onnx').replace(new RegExp(`_(${GRAPH_VARIANTS.join('|')})$`), '');
  const dir = path.dirname(model.graph);
  const siblings = fs
    .readdirSync(dir)
    .filter((f) => f !== path.basename(model.graph) && new RegExp(`^${stem}(_\\w+)?\\.onnx$`).test(f))
    .map((f) => ({ file: f, bytes: localWeightBytes(path.join(dir, f)) }))
    .filter((s) => estimateMemory(s.bytes, shape, tokens).fits)
    .sort((a, b) => a.bytes - b.bytes);
  const room = tokensThatFit(weights, shape);
  const options = [
    ...(siblings.length ? [`open ${siblings[0].file} beside it (${formatBytes(siblings[0].bytes)}), which fits`] : []),
    ...(room >= 16 ? [`set attentionExplorer.maxTokens to ${room} or fewer`] : []),
  ];
  const advice = options.length ? ` To use it, ${options.join(', or ')}.` : ' Choose a smaller model or variant.';
  return `${path.basename(model.graph)} does not fit in the panel's memory: it ${describeEstimate(estimate)}.${advice}`;
}
