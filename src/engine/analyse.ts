import { AttentionStore, type AttentionWindow } from '../common/attention-store';
import { predictionsFrom, type Prediction } from '../common/predictions';
import type { AttentionSession } from './session';
import { planWindows, type EdgeSpecials, type PlannedWindow, type WindowPlan } from './windows';

export interface Analysis {
  store: AttentionStore;
  plan: WindowPlan;
  runMs: number;
  /** Each analysed token's next-token prediction, when asked for (AnalyseOptions.predictions). */
  predictions?: Prediction[];
}

export interface AnalyseOptions {
  /** Also what the model predicts after each token (a graph prepared with its logits), in the same runs. */
  predictions?: boolean;
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
  let heads = 0;
  const t0 = performance.now();
  for (const w of plan.windows) {
    const runIds = [...w.lead.map((i) => ids[i]), ...ids.slice(w.start, w.end), ...w.trail.map((i) => ids[i])];
    const out = await session.run(runIds, undefined, { logits: options.predictions });
    heads = out.heads;
    windows.push({ start: w.start, length: w.end - w.start, layers: out.layers, lead: w.lead, trail: w.trail });
    if (out.logits) predicted.push(predictionsFrom(out.logits.data, out.logits.vocabulary, runIds));
  }
  const runMs = performance.now() - t0;
  return {
    store: new AttentionStore(windows, session.graph.attention.length, heads),
    plan,
    runMs,
    ...(options.predictions && { predictions: gatherPredictions(plan, predicted) }),
  };
}

/**
 * One prediction per analysed token, from the first window in which the token that follows it is
 * also part of the text run (there it has the most context before it; a window's last token is
 * followed by a re-added special or by nothing). The last analysed token's comes from the last
 * window, with no log-probability: what follows it was not analysed (its top 5 still say what the
 * model expects next).
 */
function gatherPredictions(plan: WindowPlan, perWindow: Prediction[][]): Prediction[] {
  const out: Prediction[] = [];
  const rowOf = (w: PlannedWindow, i: number): number => w.lead.length + (i - w.start);
  for (let i = 0; i < plan.analysed; i++) {
    const last = i === plan.analysed - 1;
    const withNext = last ? -1 : plan.windows.findIndex((w) => w.start <= i && i + 1 < w.end);
    // (Windows overlap, so only a window too short to overlap leaves a token without its next.)
    let k = withNext;
    if (k < 0) for (let j = 0; j < plan.windows.length; j++) if (plan.windows[j].start <= i) k = j;
    const p = perWindow[k][rowOf(plan.windows[k], i)];
    out.push(withNext >= 0 ? p : { logprob: null, top: p.top });
  }
  return out;
}
