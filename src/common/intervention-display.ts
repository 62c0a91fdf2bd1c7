/**
 * What the panel shows of an intervention, in the units it shows (tokens, or whole words): which
 * tokens a choice of words hides, what the run changed per unit, and the loss before and after.
 * Pure, for the panel and the tests.
 */
import { meanKl, type TokenEffect } from './intervention-effects';
import type { PredictionInfo, PredictionKind } from './protocol';
import { predictedAt, sequenceLoss } from './surprisal';

/** The tokens that shown units stand for: themselves, or every token of the chosen words (`wordOf`). */
export function tokensOfUnits(units: readonly number[], wordOf?: Int32Array): number[] {
  if (!wordOf) return [...units].sort((a, b) => a - b);
  const chosen = new Set(units);
  const out: number[] = [];
  wordOf.forEach((w, t) => chosen.has(w) && out.push(t));
  return out;
}

/** The shown units that hold any of `tokens`. */
export function unitsOfTokens(tokens: readonly number[], wordOf?: Int32Array): number[] {
  if (!wordOf) return [...tokens].sort((a, b) => a - b);
  return [...new Set(tokens.map((t) => wordOf[t]))].sort((a, b) => a - b);
}

export const headName = (h: { layer: number; head: number }): string => `L${h.layer}·H${h.head}`;

/**
 * An intervention in words, as the panel's bar and the editor's hover say it: "knocked out L3·H7 ·
 * hid “·fibonacci”" (hidden units in runs of neighbours, each quoted as the text it spells).
 */
export function describeIntervention(
  heads: readonly { layer: number; head: number }[],
  units: readonly number[],
  unitText: (unit: number) => string,
): string {
  const runs = runsOf(units).map((run) => quotedRun(run, unitText));
  return [
    heads.length ? `knocked out ${heads.map(headName).join(', ')}` : '',
    runs.length ? `hid ${runs.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** A run of neighbouring units as the text they spell, quoted. */
export function quotedRun(run: readonly number[], unitText: (unit: number) => string): string {
  return `“${run.map(unitText).join('')}”`;
}

/** Units in runs of neighbours (what a reader calls one hidden stretch of text), in order. */
export function runsOf(units: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const u of [...new Set(units)].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === u - 1) last.push(u);
    else runs.push([u]);
  }
  return runs;
}

/**
 * Per shown unit: how much more surprising it became (bits; null where nothing predicted it), and
 * the KL divergence of its prediction.
 */
export interface UnitEffect {
  delta: number | null;
  kl: number;
}

/**
 * Each unit's change: a token's is the change in its own surprisal (the effect recorded where it
 * was predicted: a causal model's token before it, a masked model's token itself); a word's, its
 * tokens' summed (surprisal adds up along a word).
 */
export function unitEffects(
  perToken: readonly TokenEffect[],
  wordOf?: Int32Array,
  units?: number,
  kind: PredictionKind = 'next-token',
): UnitEffect[] {
  const own = perToken.map((_, j): UnitEffect => {
    const e = perToken[predictedAt(kind, j)] as TokenEffect | undefined;
    return { delta: e?.deltaSurprisal ?? null, kl: e?.kl ?? 0 };
  });
  if (!wordOf || units === undefined) return own;
  const out: UnitEffect[] = Array.from({ length: units }, () => ({ delta: null, kl: 0 }));
  own.forEach((e, t) => {
    const w = out[wordOf[t]];
    if (e.delta !== null) w.delta = (w.delta ?? 0) + e.delta;
    w.kl += e.kl;
  });
  return out;
}

/**
 * The mean loss (nats per predicted token) before and after, from the intervened run's predictions
 * and the Δ surprisal of each predicted token; and the mean KL divergence (bits).
 */
export function lossChange(
  after: readonly PredictionInfo[],
  perToken: readonly TokenEffect[],
  kind: PredictionKind = 'next-token',
): { before: number; after: number; meanKl: number } | null {
  const loss = sequenceLoss(after);
  const deltas = perToken.map((e) => e.deltaSurprisal).filter((d): d is number => d !== null);
  if (!loss || deltas.length === 0) return null;
  const meanDeltaNats = (deltas.reduce((s, d) => s + d, 0) / deltas.length) * Math.LN2;
  return { before: loss.loss - meanDeltaNats, after: loss.loss, meanKl: meanKl(perToken, kind === 'masked') };
}
