import { tokensOfUnits, unitsOfTokens } from '../src/common/intervention-display';
import type { InterventionChoice, TokenInfo } from '../src/common/protocol';
import type { EngineResult } from '../src/engine/model-engine';
import type { InterventionShown } from './views/intervention-bar';

type Head = { layer: number; head: number };

/** A result as the panel shows it: its tokens (or words, with the word of each token). */
interface ShownUnits {
  tokens: TokenInfo[];
  wordMap?: Int32Array;
  intervention: EngineResult['intervention'];
  predictions: EngineResult['predictions'];
  predictionKind: EngineResult['predictionKind'];
}

/**
 * What the user is choosing to intervene on: heads to knock out, and tokens to hide, kept as the
 * engine's token indices so that switching to whole words and back loses nothing.
 */
export class InterventionState {
  editing = false;
  private heads: Head[] = [];
  private hidden: number[] = [];

  /** A new result: the choice is the run's own intervention (none for a plain run). */
  adopt(r: Pick<EngineResult, 'intervention'>): void {
    this.heads = r.intervention ? [...r.intervention.heads] : [];
    this.hidden = r.intervention ? [...r.intervention.hiddenTokens] : [];
  }

  toggleHead(h: Head): void {
    const at = this.heads.findIndex((x) => x.layer === h.layer && x.head === h.head);
    if (at >= 0) this.heads.splice(at, 1);
    else this.heads = [...this.heads, h].sort((a, b) => a.layer - b.layer || a.head - b.head);
  }

  /** Hides a shown unit's tokens, or shows them again when all of them were hidden. */
  toggleUnit(unit: number, wordMap?: Int32Array): void {
    const tokens = tokensOfUnits([unit], wordMap);
    const all = tokens.every((t) => this.hidden.includes(t));
    this.hidden = all
      ? this.hidden.filter((t) => !tokens.includes(t))
      : [...new Set([...this.hidden, ...tokens])].sort((a, b) => a - b);
  }

  /** Heads and (the engine's) tokens chosen elsewhere (a command). */
  set(heads: Head[], hiddenTokens: number[]): void {
    this.heads = [...heads];
    this.hidden = [...hiddenTokens];
  }

  clear(): void {
    this.heads = [];
    this.hidden = [];
  }

  /** What the engine is asked to do; null when nothing is chosen (a plain run). */
  choice(): InterventionChoice | null {
    if (this.heads.length === 0 && this.hidden.length === 0) return null;
    return { heads: [...this.heads], hiddenTokens: [...this.hidden] };
  }

  /** What the bar and the views draw for a result shown in `r`'s units. */
  shown(r: ShownUnits): InterventionShown {
    const iv = r.intervention;
    return {
      editing: this.editing,
      choice: { heads: this.heads, units: unitsOfTokens(this.hidden, r.wordMap) },
      tokens: r.tokens,
      applied: iv && {
        heads: iv.heads,
        units: unitsOfTokens(iv.hiddenTokens, r.wordMap),
        perToken: iv.effects.perToken,
        changedHeads: iv.effects.heads,
        predictions: r.predictions,
        predictionKind: r.predictionKind ?? 'next-token',
        wordOf: r.wordMap,
      },
    };
  }
}
