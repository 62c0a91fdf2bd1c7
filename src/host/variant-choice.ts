import * as path from 'node:path';
import {
  describeEstimate,
  estimateMemory,
  tokensThatFit,
  windowTokens,
  type MemoryEstimate,
  type ModelShapeGuess,
} from '../common/memory-estimate';
import type { HubGraph } from './hub-download';

/** What a graph variant's file name says of its weights. */
export function precisionOf(graph: string): string {
  const stem = path.posix.basename(graph, '.onnx');
  if (/_q4f16$/.test(stem)) return '4-bit weights, float16';
  if (/_q4$/.test(stem)) return '4-bit weights';
  if (/_bnb4$/.test(stem)) return '4-bit weights (bitsandbytes)';
  if (/_(quantized|int8|uint8)$/.test(stem)) return '8-bit weights';
  if (/_fp16$/.test(stem)) return 'float16';
  return 'float32';
}

export interface VariantOption {
  graph: HubGraph;
  precision: string;
  /** Undefined when config.json gives no shape, or the Hub no size: it cannot be judged. */
  estimate: MemoryEstimate | undefined;
  /** The first that fits, smallest first: what the picker puts on top. */
  suggested: boolean;
}

export interface VariantChoice {
  options: VariantOption[];
  /** Set when no variant fits: why, with a maxTokens that would fit if there is one. */
  refusal: string | undefined;
}

const mb = (n: number): string => `${(n / 1024 ** 2).toFixed(1)} MB`;

/**
 * The repository's graph variants in the order the picker offers them: the smallest that fits
 * first (suggested), then the others that fit, smallest first, then those that do not fit. When
 * none fits, the reason — said before gigabytes are downloaded.
 */
export function chooseVariants(
  repo: string,
  graphs: readonly HubGraph[],
  shape: ModelShapeGuess | undefined,
  maxTokens: number,
): VariantChoice {
  const options: VariantOption[] = graphs.map((g) => ({
    graph: g,
    precision: precisionOf(g.graph),
    estimate:
      shape && g.bytes !== undefined ? estimateMemory(g.bytes, shape, windowTokens(shape, maxTokens)) : undefined,
    suggested: false,
  }));
  const size = (o: VariantOption): number => o.graph.bytes ?? Number.MAX_SAFE_INTEGER;
  const fits = (o: VariantOption): boolean => o.estimate?.fits ?? true;
  options.sort((a, b) => Number(fits(b)) - Number(fits(a)) || size(a) - size(b));
  if (options.length > 0 && fits(options[0])) options[0].suggested = true;
  if (options.length === 0 || fits(options[0])) return { options, refusal: undefined };
  const smallest = options.reduce((a, b) => (size(b) < size(a) ? b : a));
  const room = shape && smallest.graph.bytes !== undefined ? tokensThatFit(smallest.graph.bytes, shape) : 0;
  const advice =
    room >= 16
      ? ` With attentionExplorer.maxTokens at ${room} or fewer, ${smallest.graph.graph} (${mb(smallest.graph.bytes ?? 0)}) would fit.`
      : ' Even its smallest weights leave no room for attention: choose a smaller model.';
  return {
    options,
    refusal: `no variant of ${repo} fits in the panel's memory: the smallest, ${smallest.graph.graph}, ${describeEstimate(smallest.estimate!)}.${advice}`,
  };
}

/** The picker's description of a variant: precision, download size, and whether it fits. */
export function describeVariant(o: VariantOption): { description: string; detail: string | undefined } {
  const size = o.graph.bytes !== undefined ? mb(o.graph.bytes) : 'size unknown';
  const parts = o.graph.externalData.length ? ` in ${o.graph.externalData.length + 1} files` : '';
  const description = `${o.precision} · ${size}${parts}${o.suggested ? ' · suggested' : ''}`;
  if (!o.estimate) return { description, detail: undefined };
  return {
    description,
    detail: o.estimate.fits ? `Fits: ${describeEstimate(o.estimate)}` : `Does not fit: ${describeEstimate(o.estimate)}`,
  };
}
