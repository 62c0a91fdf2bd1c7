/**
 * What an intervention changed, from a plain run and an intervened run of the same tokens: per
 * token, the change in surprisal of the token that follows and the KL divergence between the two
 * next-token distributions; per head, how far its attention moved. Pure arithmetic, in float64.
 */
import { nextTokenTargets } from './predictions';

export interface TokenEffect {
  /** Surprisal (−log₂ p) of the next token after the intervention minus before, in bits; null for the last token. */
  deltaSurprisal: number | null;
  /** KL(plain ‖ intervened) of the next-token distributions, in bits (0: unchanged). */
  kl: number;
}

export interface HeadChange {
  layer: number;
  head: number;
  /** Mean over query rows of the total variation between the two rows (0: unchanged, 1: disjoint). */
  change: number;
}

/** log-softmax of one row, in float64. */
function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) if (row[v] > max) max = row[v];
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v] - max);
  const logZ = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - logZ);
}

/**
 * Each row's Δ surprisal and KL, from two runs' logits ([T, vocabulary] each); `targets` as in
 * predictionsFrom (by default the next token).
 */
export function tokenEffects(
  plain: Float32Array,
  intervened: Float32Array,
  vocabulary: number,
  ids: readonly number[],
  targets: readonly (number | null)[] = nextTokenTargets(ids),
): TokenEffect[] {
  const t = targets.length;
  if (plain.length !== t * vocabulary || intervened.length !== plain.length)
    throw new Error(`logits of ${plain.length} and ${intervened.length} values for ${t} tokens × ${vocabulary}`);
  const out: TokenEffect[] = [];
  for (let i = 0; i < t; i++) {
    const p = logSoftmax(plain.subarray(i * vocabulary, (i + 1) * vocabulary));
    const q = logSoftmax(intervened.subarray(i * vocabulary, (i + 1) * vocabulary));
    let kl = 0;
    for (let v = 0; v < vocabulary; v++) {
      const pv = Math.exp(p[v]);
      if (pv > 0) kl += pv * (p[v] - q[v]);
    }
    const target = targets[i];
    out.push({
      deltaSurprisal: target === null ? null : (p[target] - q[target]) / Math.LN2,
      // Rounding can leave a tiny negative where nothing changed.
      kl: Math.max(0, kl / Math.LN2),
    });
  }
  return out;
}

/**
 * The mean KL divergence over the tokens whose distributions were compared: every row of a causal
 * model; a masked model's masked tokens only (a special, or a token past the time for masking, has
 * no Δ and no distribution).
 */
export function meanKl(perToken: readonly TokenEffect[], masked: boolean): number {
  const compared = masked ? perToken.filter((e) => e.deltaSurprisal !== null) : perToken;
  return compared.length ? compared.reduce((s, e) => s + e.kl, 0) / compared.length : 0;
}

/**
 * Every head's change between two runs' attention (per layer [heads, T, T]), largest first;
 * `skip` (the heads the intervention knocked out) is left out: their change is the intervention.
 */
export function headChanges(
  plain: Float32Array[],
  intervened: Float32Array[],
  heads: number,
  t: number,
  skip: { layer: number; head: number }[] = [],
): HeadChange[] {
  const out: HeadChange[] = [];
  plain.forEach((layer, l) => {
    for (let h = 0; h < heads; h++) {
      if (skip.some((s) => s.layer === l && s.head === h)) continue;
      let total = 0;
      for (let i = 0; i < t; i++) {
        let tv = 0;
        const at = (h * t + i) * t;
        for (let j = 0; j < t; j++) tv += Math.abs(layer[at + j] - intervened[l][at + j]);
        total += tv / 2;
      }
      out.push({ layer: l, head: h, change: total / t });
    }
  });
  return out.sort((a, b) => b.change - a.change || a.layer - b.layer || a.head - b.head);
}
