import { AttentionStore, type AttentionWindow } from '../common/attention-store';
import { predictionsFrom, type Prediction } from '../common/predictions';
import { headChanges, tokenEffects, type HeadChange, type TokenEffect } from '../common/intervention-effects';
import type { Intervention } from './interventions';
import type { AttentionSession } from './session';
import { planWindows, type EdgeSpecials, type PlannedWindow, type WindowPlan } from './windows';

export interface Analysis {
  store: AttentionStore;
  plan: WindowPlan;
  runMs: number;
  /** Each analysed token's next-token prediction, when asked for (AnalyseOptions.predictions). */
  predictions?: Prediction[];
  /** What the intervention changed, when one was made (AnalyseOptions.intervention). */
  effects?: InterventionEffects;
  /** With masked predictions: how many tokens were masked, of how many that could be. */
  masked?: { done: number; of: number };
}

export interface InterventionEffects {
  /** Per analysed token, with predictions: Δ surprisal of the token that follows and the KL divergence. */
  perToken: TokenEffect[] | null;
  /**
   * Every head not knocked out, by how far its attention moved (mean total variation over its rows,
   * windows weighed by their rows), largest first.
   */
  heads: HeadChange[];
}

/**
 * A masked language model's predictions: each token masked in turn, in a run of its own (the
 * pseudo-log-likelihood), so that the model does not see the token it predicts.
 */
export interface MaskedPredictions {
  maskId: number;
  /** Tokens not to mask (the specials a template adds around the text): no prediction for them. */
  skip: readonly boolean[];
  /** No token is masked once this much time has gone into masking (those left get no prediction). */
  budgetMs: number;
}

export interface AnalyseOptions {
  /** Also what the model predicts after each token (a graph prepared with its logits), in the same runs. */
  predictions?: boolean;
  /** With `predictions`: the model attends both ways, and predicts each token with it masked. */
  masked?: MaskedPredictions;
  /**
   * Knock heads out, hide tokens (indices into `ids`): the store and predictions are the model's so
   * changed, and each window is also run plainly, for what changed (`Analysis.effects`).
   */
  intervention?: Intervention;
}

/**
 * Runs every window of the plan and gathers the attention into one store. `edges` counts the
 * special tokens around the sequence, which every window is given again.
 */
export async function analyseIds(
  session: AttentionSession,
  ids: readonly number[],
  context: number,
  maxTokens: number,
  edges?: EdgeSpecials,
  options: AnalyseOptions = {},
): Promise<Analysis> {
  const plan = planWindows(ids.length, context, maxTokens, edges);
  const windows: AttentionWindow[] = [];
  const predicted: Prediction[][] = [];
  const effects: TokenEffect[][] = [];
  const changes: { rows: number; heads: HeadChange[] }[] = [];
  const intervention = options.intervention;
  const hidden = new Set(intervention?.hiddenTokens ?? []);
  let heads = 0;
  const t0 = performance.now();
  for (const w of plan.windows) {
    const positions = [...w.lead, ...range(w.start, w.end), ...w.trail];
    const runIds = positions.map((i) => ids[i]);
    // A masked model's predictions come from runs of their own (maskedRuns).
    const logits = options.predictions && !options.masked;
    // Hidden tokens by their place in this window's run (a re-added special is in every window).
    const local = intervention && {
      heads: intervention.heads,
      hiddenTokens: positions.flatMap((g, p) => (hidden.has(g) ? [p] : [])),
    };
    const out = await session.run(runIds, local, { logits });
    heads = out.heads;
    windows.push({ start: w.start, length: w.end - w.start, layers: out.layers, lead: w.lead, trail: w.trail });
    if (out.logits) predicted.push(predictionsFrom(out.logits.data, out.logits.vocabulary, runIds));
    if (!local) continue;
    const plain = await session.run(runIds, undefined, { logits });
    changes.push({
      rows: runIds.length,
      heads: headChanges(plain.layers, out.layers, heads, runIds.length, local.heads),
    });
    if (plain.logits && out.logits)
      effects.push(tokenEffects(plain.logits.data, out.logits.data, out.logits.vocabulary, runIds));
  }
  const masked =
    options.predictions && options.masked ? await maskedRuns(session, ids, plan, options.masked, intervention) : null;
  const runMs = performance.now() - t0;
  return {
    store: new AttentionStore(windows, session.graph.attention.length, heads),
    plan,
    runMs,
    ...(options.predictions && {
      predictions: masked ? masked.predictions : gatherRows(plan, predicted, (p) => ({ logprob: null, top: p.top })),
    }),
    ...(intervention && {
      effects: {
        perToken: masked
          ? masked.effects
          : options.predictions
            ? gatherRows(plan, effects, (e) => ({ ...e, deltaSurprisal: null }))
            : null,
        heads: mergeChanges(changes),
      },
    }),
    ...(masked && { masked: { done: masked.done, of: masked.of } }),
  };
}

/**
 * Each analysed token masked in turn, in the window where it has most context, until the time
 * budget is spent: its log-probability and the candidates there; with an intervention, also the
 * plain masked run, for what the intervention changed.
 */
async function maskedRuns(
  session: AttentionSession,
  ids: readonly number[],
  plan: WindowPlan,
  m: MaskedPredictions,
  intervention: Intervention | undefined,
): Promise<{ predictions: Prediction[]; effects: TokenEffect[] | null; done: number; of: number }> {
  const predictions: Prediction[] = [];
  const effects: TokenEffect[] = [];
  const hidden = new Set(intervention?.hiddenTokens ?? []);
  const t0 = performance.now();
  let done = 0;
  let of = 0;
  for (let i = 0; i < plan.analysed; i++) {
    const none = (): void => {
      predictions.push({ logprob: null, top: [] });
      effects.push({ deltaSurprisal: null, kl: 0 });
    };
    if (m.skip[i]) {
      none();
      continue;
    }
    of++;
    // (At least one token is masked, whatever the budget.)
    if (done > 0 && performance.now() - t0 > m.budgetMs) {
      none();
      continue;
    }
    const w = centralWindow(plan, i);
    const positions = [...w.lead, ...range(w.start, w.end), ...w.trail];
    const at = w.lead.length + (i - w.start);
    const runIds = positions.map((g) => (g === i ? m.maskId : ids[g]));
    const local = intervention && {
      heads: intervention.heads,
      hiddenTokens: positions.flatMap((g, p) => (hidden.has(g) ? [p] : [])),
    };
    const rowOf = async (change?: Intervention): Promise<{ row: Float32Array; vocabulary: number }> => {
      const { logits, vocabulary } = await session.runLogits(runIds, change);
      return { row: logits.slice(at * vocabulary, (at + 1) * vocabulary), vocabulary };
    };
    const out = await rowOf(local);
    predictions.push(predictionsFrom(out.row, out.vocabulary, [], 5, [ids[i]])[0]);
    if (local) {
      const plain = await rowOf();
      effects.push(tokenEffects(plain.row, out.row, out.vocabulary, [], [ids[i]])[0]);
    }
    done++;
  }
  return { predictions, effects: intervention ? effects : null, done, of };
}

const range = (start: number, end: number): number[] => Array.from({ length: end - start }, (_, i) => start + i);

/** Each head's change over all windows, weighed by the windows' rows; largest first. */
function mergeChanges(perWindow: { rows: number; heads: HeadChange[] }[]): HeadChange[] {
  const total = new Map<string, HeadChange>();
  const rows = perWindow.reduce((s, w) => s + w.rows, 0);
  for (const w of perWindow)
    for (const h of w.heads) {
      const key = `${h.layer}:${h.head}`;
      const sum = total.get(key) ?? { layer: h.layer, head: h.head, change: 0 };
      sum.change += (h.change * w.rows) / rows;
      total.set(key, sum);
    }
  return [...total.values()].sort((a, b) => b.change - a.change || a.layer - b.layer || a.head - b.head);
}

/**
 * One row per analysed token (a prediction, an effect), from the first window in which the token
 * that follows it is also part of the text run (there it has the most context before it; a
 * window's last token is followed by a re-added special or by nothing). The last analysed token's
 * comes from the last window, made by `unfollowed`: what follows it was not analysed (its top 5
 * still say what the model expects next).
 */
function gatherRows<T>(plan: WindowPlan, perWindow: T[][], unfollowed: (row: T) => T): T[] {
  const out: T[] = [];
  const rowOf = (w: PlannedWindow, i: number): number => w.lead.length + (i - w.start);
  for (let i = 0; i < plan.analysed; i++) {
    const { window, followed } = rowSource(plan, i);
    const p = perWindow[window][rowOf(plan.windows[window], i)];
    out.push(followed ? p : unfollowed(p));
  }
  return out;
}

/**
 * The window in which token `i` has the most context on its closer side: a model that attends both
 * ways reads both, so a masked token is predicted where it sits furthest from the window's edges.
 */
function centralWindow(plan: WindowPlan, i: number): PlannedWindow {
  let best = plan.windows[0];
  let room = -1;
  for (const w of plan.windows) {
    if (i < w.start || i >= w.end) continue;
    const r = Math.min(i - w.start, w.end - 1 - i);
    if (r > room) [best, room] = [w, r];
  }
  return best;
}

/** The window token `i`'s row is read from, and whether the token after it is in that window too. */
function rowSource(plan: WindowPlan, i: number): { window: number; followed: boolean } {
  const last = i === plan.analysed - 1;
  const withNext = last ? -1 : plan.windows.findIndex((w) => w.start <= i && i + 1 < w.end);
  if (withNext >= 0) return { window: withNext, followed: true };
  // (Windows overlap, so only a window too short to overlap leaves a token without its next.)
  let k = 0;
  for (let j = 0; j < plan.windows.length; j++) if (plan.windows[j].start <= i) k = j;
  return { window: k, followed: false };
}
