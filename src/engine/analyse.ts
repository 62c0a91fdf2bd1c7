import { AttentionStore, type AttentionWindow } from '../common/attention-store';
import type { AttentionSession } from './session';
import { planWindows, type EdgeSpecials, type WindowPlan } from './windows';

export interface Analysis {
  store: AttentionStore;
  plan: WindowPlan;
  runMs: number;
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
): Promise<Analysis> {
  const plan = planWindows(ids.length, context, maxTokens, edges);
  const windows: AttentionWindow[] = [];
  let heads = 0;
  const t0 = performance.now();
  for (const w of plan.windows) {
    const out = await session.run([
      ...w.lead.map((i) => ids[i]),
      ...ids.slice(w.start, w.end),
      ...w.trail.map((i) => ids[i]),
    ]);
    heads = out.heads;
    windows.push({ start: w.start, length: w.end - w.start, layers: out.layers, lead: w.lead, trail: w.trail });
  }
  const runMs = performance.now() - t0;
  return { store: new AttentionStore(windows, session.graph.attention.length, heads), plan, runMs };
}
