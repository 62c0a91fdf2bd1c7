#!/usr/bin/env node
/**
 * attention-explorer attention --model PATH.onnx [--tokenizer PATH/tokenizer.json]
 *     (--text TEXT | --ids 5,17,42) [--layers all|0,2] [--aggregate mean|max|rollout]
 * Prints {"tokens":[{id,text,start,end}], "layers":[names], "attentions":[layer][head][query][key]}
 * (with --aggregate, one "head" per layer: the mean or max over heads, or the rollout up to it).
 * attention-explorer heads … (the same options but --aggregate) prints each head's scores:
 * {"heads":[{"layer","head","scores":{previousToken,firstToken,self,entropy,meanDistance,induction}}]}.
 * attention-explorer qk … --layer L --head H --query Q prints one head's mechanism for one query:
 * {"q":[…],"k":[[…]],"scores":[…],"mask":[…],"probabilities":[…],"scale":s} — the query vector, every
 * key vector, q·k × scale, what the model adds before the softmax (null for −∞: masked), and the
 * softmax, which is the attention.
 * attention-explorer predict … prints what a language model predicts at each token:
 * {"tokens":[…],"kind":"next-token","predictions":[{"logprob","top":[{"id","text","p"}]}]} — the natural
 * log of the probability of the token that follows (null for the last) and the 5 most likely next
 * tokens; for a model that attends both ways, "kind":"masked": each token masked in a run of its own,
 * the log-probability of the token itself (null for the tokenizer's specials) and the 5 most likely there.
 * attention and predict take --ablate L:H,… (heads knocked out: their probabilities set to zero)
 * and --hide-tokens i,… (tokens hidden from every other token's attention): what the model then does;
 * predict adds "effects": each token's Δ surprisal and KL divergence (bits) against the plain run,
 * their mean, and the heads whose attention changed most.
 * Uses the same engine as the webview (onnxruntime-web's WebAssembly backend runs in Node).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCausal } from './common/analysis';
import { AttentionStore } from './common/attention-store';
import { allHeadScores } from './common/head-scores';
import { headChanges, meanKl, tokenEffects } from './common/intervention-effects';
import { predictionsFrom, type Prediction } from './common/predictions';
import { queryKeyRow } from './common/query-key';
import { rollout } from './common/rollout';
import { analyseIds } from './engine/analyse';
import { fitText } from './engine/fit';
import { setUpRuntime } from './engine/runtime-init';
import { exposeAttention } from './engine/attention-graph';
import { contextLength } from './engine/model-config';
import type { Intervention } from './engine/interventions';
import { AttentionSession } from './engine/session';
import { loadTokenizer, type TextTokenizer } from './engine/tokenizer';

const USAGE = `usage: attention-explorer attention [--model PATH.onnx] [--tokenizer PATH/tokenizer.json]
                           (--text TEXT | --ids 5,17,42) [--layers all|0,1,...] [--aggregate mean|max|rollout]
                           [--ablate L:H,...] [--hide-tokens i,...]
       attention-explorer heads [--model PATH.onnx] [--tokenizer PATH/tokenizer.json]
                           (--text TEXT | --ids 5,17,42) [--layers all|0,1,...]
       attention-explorer qk [--model PATH.onnx] [--tokenizer PATH/tokenizer.json]
                           (--text TEXT | --ids 5,17,42) --layer L --head H --query Q
       attention-explorer predict [--model PATH.onnx] [--tokenizer PATH/tokenizer.json]
                           (--text TEXT | --ids 5,17,42) [--ablate L:H,...] [--hide-tokens i,...]
Without --model, the bundled code-prose-gpt model is used. --ablate knocks heads out (layer:head,
0-based: their attention set to zero); --hide-tokens hides tokens (0-based) from every other token.`;

const AGGREGATES = ['mean', 'max', 'rollout'] as const;
type Aggregate = (typeof AGGREGATES)[number];

interface CliArgs {
  command: 'attention' | 'heads' | 'qk' | 'predict';
  /** qk: which layer, head and query token. */
  at?: { layer: number; head: number; query: number };
  aggregate?: Aggregate;
  model: string;
  tokenizer?: string;
  text?: string;
  ids?: number[];
  layers: 'all' | number[];
  /** attention, predict: heads to knock out and tokens to hide. */
  intervention?: Intervention;
}

class UsageError extends Error {}

function bundledModelPath(): string {
  // dist/cli.js → media/model/model.onnx
  return path.join(__dirname, '..', 'media', 'model', 'model.onnx');
}

export function parseArgs(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command !== 'attention' && command !== 'heads' && command !== 'qk' && command !== 'predict')
    throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  const known = [
    'model',
    'tokenizer',
    'text',
    'ids',
    ...(command === 'qk' ? ['layer', 'head', 'query'] : command === 'predict' ? [] : ['layers']),
    ...(command === 'attention' ? ['aggregate'] : []),
    ...(command === 'attention' || command === 'predict' ? ['ablate', 'hide-tokens'] : []),
  ];
  const opts = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq > 0 ? a.slice(eq + 1) : rest[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value`);
    if (!known.includes(key)) throw new UsageError(`unknown option --${key}`);
    opts.set(key, value);
  }
  const text = opts.get('text');
  const idsArg = opts.get('ids');
  if ((text === undefined) === (idsArg === undefined)) throw new UsageError('give exactly one of --text and --ids');
  let ids: number[] | undefined;
  if (idsArg !== undefined) {
    ids = idsArg.split(',').map((s) => Number(s.trim()));
    if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new UsageError(`--ids takes comma-separated non-negative integers, got "${idsArg}"`);
    }
  }
  const layersArg = opts.get('layers') ?? 'all';
  let layers: 'all' | number[] = 'all';
  if (layersArg !== 'all') {
    layers = layersArg.split(',').map((s) => Number(s.trim()));
    if (layers.some((n) => !Number.isInteger(n) || n < 0))
      throw new UsageError(`--layers takes "all" or comma-separated layer indices, got "${layersArg}"`);
  }
  const aggregate = opts.get('aggregate');
  if (aggregate !== undefined && !(AGGREGATES as readonly string[]).includes(aggregate))
    throw new UsageError(`--aggregate takes ${AGGREGATES.join(', ')}, got "${aggregate}"`);
  const model = opts.get('model') ?? bundledModelPath();
  let at: CliArgs['at'];
  if (command === 'qk') {
    const index = (name: string): number => {
      const v = opts.get(name);
      if (v === undefined) throw new UsageError(`qk needs --${name}`);
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} takes a non-negative integer, got "${v}"`);
      return n;
    };
    at = { layer: index('layer'), head: index('head'), query: index('query') };
  }
  const ablate = opts.get('ablate');
  const hide = opts.get('hide-tokens');
  let intervention: Intervention | undefined;
  if (ablate !== undefined || hide !== undefined) {
    const heads = (ablate ?? '').split(',').filter((s) => s.trim() !== '');
    intervention = {
      heads: heads.map((h) => {
        const m = /^\s*(\d+):(\d+)\s*$/.exec(h);
        if (!m) throw new UsageError(`--ablate takes layer:head pairs (0-based), comma-separated, got "${h}"`);
        return { layer: Number(m[1]), head: Number(m[2]) };
      }),
      hiddenTokens: (hide ?? '')
        .split(',')
        .filter((s) => s.trim() !== '')
        .map((s) => {
          const n = Number(s.trim());
          if (!Number.isInteger(n) || n < 0)
            throw new UsageError(`--hide-tokens takes comma-separated token indices (0-based), got "${s}"`);
          return n;
        }),
    };
  }
  return {
    command,
    at,
    intervention,
    aggregate: aggregate as Aggregate | undefined,
    model,
    tokenizer: opts.get('tokenizer'),
    text,
    ids,
    layers,
  };
}

/**
 * What the intervention changed, against a plain run of the same ids: each token's Δ surprisal and
 * KL divergence (bits), and the 10 heads (not knocked out) whose attention moved most.
 */
async function effectsOf(
  session: AttentionSession,
  ids: number[],
  logits: Float32Array,
  vocabulary: number,
  intervened: { layers: Float32Array[]; heads: number },
  intervention: Intervention,
): Promise<{ effects: object }> {
  const plain = await session.runLogits(ids);
  const plainAttention = await session.run(ids);
  const perToken = tokenEffects(plain.logits, logits, vocabulary, ids);
  return {
    effects: {
      perToken,
      meanKl: meanKl(perToken, false),
      changedHeads: headChanges(
        plainAttention.layers,
        intervened.layers,
        intervened.heads,
        ids.length,
        intervention.heads,
      ).slice(0, 10),
    },
  };
}

/** Predictions as printed: each candidate with its text (null without a tokenizer). */
function withText(predictions: Prediction[], tokenizer: TextTokenizer | undefined): object[] {
  return predictions.map((p) => ({
    logprob: p.logprob,
    top: p.top.map((c) => ({ id: c.id, text: tokenizer ? tokenizer.idToText(c.id) : null, p: c.p })),
  }));
}

/**
 * A model that attends both ways sees the token it would predict: each token (the tokenizer's
 * specials aside) is masked in a run of its own, and its log-probability is the token's own.
 */
async function maskedPredictions(
  session: AttentionSession,
  tokens: { id: number }[],
  specials: Set<number>,
  tokenizer: TextTokenizer | undefined,
  intervention: Intervention | undefined,
): Promise<object> {
  const maskId = tokenizer?.maskId ?? null;
  if (maskId === null)
    throw new Error(
      "this model attends both ways, so predict masks each token in turn, and that needs the tokenizer's mask token ([MASK] or <mask>); none was found",
    );
  const ids = tokens.map((t) => t.id);
  const a = await analyseIds(session, ids, ids.length, ids.length, undefined, {
    predictions: true,
    masked: { maskId, skip: ids.map((_, i) => specials.has(i)), budgetMs: Infinity },
    intervention,
  });
  const perToken = a.effects?.perToken ?? [];
  return {
    kind: 'masked',
    predictions: withText(a.predictions ?? [], tokenizer),
    ...(a.effects && {
      effects: { perToken, meanKl: meanKl(perToken, true), changedHeads: a.effects.heads.slice(0, 10) },
    }),
  };
}

function readIfExists(p: string): string | undefined {
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
}

/** The folder holding tokenizer.json and config.json: beside the graph, or above an onnx/ folder. */
function modelHome(modelPath: string): string {
  const dir = path.dirname(modelPath);
  return path.basename(dir) === 'onnx' && !fs.existsSync(path.join(dir, 'tokenizer.json')) ? path.dirname(dir) : dir;
}

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`attention-explorer: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  setUpRuntime();
  if (!fs.existsSync(args.model)) throw new Error(`no model file at ${args.model}`);
  const home = modelHome(args.model);
  const tokenizerPath = args.tokenizer ?? path.join(home, 'tokenizer.json');
  const tokenizerText = readIfExists(tokenizerPath);
  let tokenizer: TextTokenizer | undefined;
  if (tokenizerText !== undefined)
    tokenizer = loadTokenizer(tokenizerText, readIfExists(path.join(home, 'tokenizer_config.json')));
  else if (args.tokenizer || args.text !== undefined)
    throw new Error(`no tokenizer.json at ${tokenizerPath} (give --tokenizer, or use --ids)`);

  const graph = exposeAttention(new Uint8Array(fs.readFileSync(args.model)), {
    logits: args.command === 'predict',
    interventions: args.intervention !== undefined,
  });
  const externalData = graph.externalDataFiles.map((f) => {
    const p = path.join(path.dirname(args.model), f);
    if (!fs.existsSync(p)) throw new Error(`the model's external data file ${f} is missing (looked for ${p})`);
    return { path: f, data: new Uint8Array(fs.readFileSync(p)) };
  });
  const context = contextLength(
    readIfExists(path.join(home, 'config.json')),
    readIfExists(path.join(home, 'tokenizer_config.json')),
  );

  type CliToken = { id: number; text: string | null; start: number | null; end: number | null };
  let tokens: CliToken[];
  // The specials a tokenizer adds around a text: a masked model's predictions leave them unmasked.
  let specials = new Set<number>();
  if (args.text !== undefined) {
    const encoded = tokenizer!.encode(args.text);
    const all = encoded.tokens;
    if (encoded.offsetsNote)
      process.stderr.write(`attention-explorer: token offsets are approximate: ${encoded.offsetsNote}\n`);
    // Cut as the panel cuts: at a token boundary, still closed by the tokenizer's [SEP] or </s>.
    const kept = all.length > context ? fitText(args.text, tokenizer!, context).tokens : all;
    if (kept.length < all.length)
      process.stderr.write(
        `attention-explorer: input cut to the model's context: ${kept.length} of ${all.length} tokens analysed\n`,
      );
    tokens = kept.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end }));
    specials = new Set(kept.flatMap((t, i) => (t.special ? [i] : [])));
  } else {
    tokens = args.ids!.map((id) => ({ id, text: tokenizer ? tokenizer.idToText(id) : null, start: null, end: null }));
    if (tokens.length > context) {
      process.stderr.write(
        `attention-explorer: input cut to the model's context: ${context} of ${tokens.length} tokens analysed\n`,
      );
      tokens = tokens.slice(0, context);
    }
  }
  if (tokens.length === 0) throw new Error('the text gives no tokens');

  const layerIdx = args.at ? [args.at.layer] : args.layers === 'all' ? graph.attention.map((_, i) => i) : args.layers;
  for (const l of layerIdx) {
    if (l >= graph.attention.length)
      throw new Error(
        `layer ${l} does not exist: the model has ${graph.attention.length} layers (0-${graph.attention.length - 1})`,
      );
  }
  const session = await AttentionSession.create(graph, externalData, 'wasm');
  const out = await session.run(
    tokens.map((t) => t.id),
    args.intervention,
  );
  const t = tokens.length;
  const store = new AttentionStore([{ start: 0, length: t, layers: out.layers }], out.layers.length, out.heads);
  const rows = (m: Float32Array): number[][] =>
    Array.from({ length: t }, (_, q) => Array.from(m.subarray(q * t, (q + 1) * t)));
  let result: object;
  if (args.command === 'predict' && graph.logits !== null && !isCausal(store)) {
    result = { tokens, ...(await maskedPredictions(session, tokens, specials, tokenizer, args.intervention)) };
  } else if (args.command === 'predict') {
    const ids = tokens.map((x) => x.id);
    const { logits, vocabulary } = await session.runLogits(ids, args.intervention);
    result = {
      tokens,
      kind: 'next-token',
      predictions: withText(predictionsFrom(logits, vocabulary, ids), tokenizer),
      ...(args.intervention && (await effectsOf(session, ids, logits, vocabulary, out, args.intervention))),
    };
  } else if (args.at) {
    const { layer, head, query } = args.at;
    if (head >= out.heads) throw new Error(`head ${head} does not exist: the model has ${out.heads} heads`);
    if (query >= t) throw new Error(`query ${query} does not exist: the text gives ${t} tokens`);
    const qk = await session.runQueryKey(
      tokens.map((x) => x.id),
      layer,
    );
    const row = queryKeyRow(qk, head, query, store.headRow(layer, head, query).weights);
    result = {
      tokens,
      layer: graph.attention[layer].layerName,
      head,
      query,
      scale: qk.scale,
      q: Array.from(row.q),
      k: row.k.map((v) => Array.from(v)),
      scores: row.scores,
      // −∞ (a masked key) is written as null: JSON has no infinity.
      mask: row.mask.map((m) => (m === -Infinity ? null : m)),
      maskRecovered: row.maskRecovered,
      probabilities: row.probabilities,
    };
  } else if (args.command === 'heads') {
    const all = allHeadScores(
      store,
      tokens.map((x) => x.id),
    );
    result = { heads: all.filter((r) => layerIdx.includes(r.layer)) };
  } else {
    const rolled = args.aggregate === 'rollout' ? rollout(store) : undefined;
    const attentions = layerIdx.map((l) => {
      if (rolled) return [rows(rolled[l])];
      const agg = args.aggregate;
      if (agg === 'mean' || agg === 'max')
        return [Array.from({ length: t }, (_, q) => Array.from(store.denseRow(l, agg, q)))];
      const data = out.layers[l];
      return Array.from({ length: out.heads }, (_, h) => rows(data.subarray(h * t * t, (h + 1) * t * t)));
    });
    result = { tokens, layers: layerIdx.map((l) => graph.attention[l].layerName), attentions };
  }
  const json = JSON.stringify(result);
  await new Promise<void>((resolve) => process.stdout.write(json + '\n', () => resolve()));
  await session.release();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`attention-explorer: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
