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

export interface AnalyseOptions {
  /** Also what the model predicts after each token (a graph prepared with its logits), in the same runs. */
  predictions?: boolean;
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
    const logits = options.predictions;
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
  const runMs = performance.now() - t0;
  return {
    store: new AttentionStore(windows, session.graph.attention.length, heads),
    plan,
    runMs,
    ...(options.predictions && {
      predictions: gatherRows(plan, predicted, (p) => ({ logprob: null, top: p.top })),
    }),
    ...(intervention && {
      effects: {
        perToken: options.predictions ? gatherRows(plan, effects, (e) => ({ ...e, deltaSurprisal: null })) : null,
        heads: mergeChanges(changes),
      },
    }),
  };
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
    const last = i === plan.analysed - 1;
    const withNext = last ? -1 : plan.windows.findIndex((w) => w.start <= i && i + 1 < w.end);
    // (Windows overlap, so only a window too short to overlap leaves a token without its next.)
    let k = withNext;
    if (k < 0) for (let j = 0; j < plan.windows.length; j++) if (plan.windows[j].start <= i) k = j;
    const p = perWindow[k][rowOf(plan.windows[k], i)];
    out.push(withNext >= 0 ? p : unfollowed(p));
  }
  return out;
}
