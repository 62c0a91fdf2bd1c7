import type { HeadChange, TokenEffect } from '../../src/common/intervention-effects';
import {
  describeIntervention,
  headName,
  lossChange,
  quotedRun,
  runsOf,
  unitEffects,
} from '../../src/common/intervention-display';
import type {
  AttentionView,
  InterventionChoice,
  PredictionInfo,
  PredictionKind,
  TokenInfo,
} from '../../src/common/protocol';
import { visibleToken } from '../../src/common/token-display';
import { readTheme, rgba } from './theme';

/** Δ surprisal at which an effect cell is fully coloured (bits). */
const FULL_DELTA_BITS = 8;
/** How many of the heads that changed most are offered. */
const CHANGED_HEADS = 8;

export interface InterventionEvents {
  /** Run the text again with the choice (heads; hidden tokens as shown units). */
  run(): void;
  /** Drop one head or hidden unit from the choice. */
  remove(what: { head: { layer: number; head: number } } | { units: number[] }): void;
  /** Drop the whole choice, and show the plain run again if an intervened one is shown. */
  reset(): void;
  /** One of the heads that changed most, shown in the head view. */
  pickHead(view: AttentionView): void;
}

/** What the bar draws. */
export interface InterventionShown {
  /** The Intervene switch is on: clicks choose heads and tokens. */
  editing: boolean;
  /** Chosen heads, and hidden units (indices into `tokens`). */
  choice: { heads: InterventionChoice['heads']; units: number[] };
  tokens: TokenInfo[];
  /** The shown result's intervention (hidden as units), with what it changed; null for a plain run. */
  applied: {
    heads: InterventionChoice['heads'];
    units: number[];
    perToken: TokenEffect[] | null;
    changedHeads: HeadChange[];
    predictions: PredictionInfo[] | null;
    predictionKind: PredictionKind;
    wordOf?: Int32Array;
  } | null;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Interventions in the panel: while Intervene is on, what is chosen (heads to knock out, tokens to
 * hide) with a button that runs the text again so changed; once such a run is shown, what it
 * changed — the loss before and after, the mean KL, each token's Δ surprisal as a strip, and the
 * heads whose attention moved most (a click shows one).
 */
export class InterventionBar {
  readonly element = el('div', 'intervention');

  constructor(private readonly on: InterventionEvents) {
    this.element.hidden = true;
  }

  render(s: InterventionShown): void {
    this.element.hidden = !s.editing && !s.applied;
    const parts: HTMLElement[] = [];
    if (s.applied) parts.push(...this.effects(s, s.applied));
    if (s.editing) parts.push(this.chooser(s));
    this.element.replaceChildren(...parts);
  }

  private tokenName(s: InterventionShown, unit: number): string {
    return s.tokens[unit] ? visibleToken(s.tokens[unit].text) : `#${unit}`;
  }

  private chooser(s: InterventionShown): HTMLElement {
    const box = el('div', 'intervention-chooser');
    const { heads, units } = s.choice;
    box.append(
      el(
        'div',
        'intervention-hint',
        'Click heads in the Model view or the Heads tab to knock them out, and tokens in the text to hide them from attention.',
      ),
    );
    const chips = el('div', 'intervention-chips');
    const chip = (text: string, title: string, remove: () => void): HTMLElement => {
      const c = el('button', 'intervention-chip', `${text} ×`);
      c.title = title;
      c.addEventListener('click', remove);
      return c;
    };
    for (const h of heads)
      chips.append(
        chip(headName(h), `Knocked out: layer ${h.layer}, head ${h.head} (click to keep it)`, () =>
          this.on.remove({ head: h }),
        ),
      );
    for (const run of runsOf(units))
      chips.append(
        chip(
          quotedRun(run, (u) => this.tokenName(s, u)),
          `Hidden: ${run.length > 1 ? `tokens ${run[0]}–${run[run.length - 1]}` : `token ${run[0]}`} (click to show again)`,
          () => this.on.remove({ units: run }),
        ),
      );
    if (!heads.length && !units.length) chips.append(el('span', 'intervention-none', 'Nothing chosen yet.'));
    const run = document.createElement('vscode-button');
    run.id = 'intervention-run';
    run.textContent = 'Run with intervention';
    if (!heads.length && !units.length) run.setAttribute('disabled', '');
    run.addEventListener('click', () => this.on.run());
    const buttons = el('div', 'intervention-buttons');
    buttons.append(run, this.resetButton(s.applied ? 'Back to the plain run' : 'Clear'));
    box.append(chips, buttons);
    return box;
  }

  private effects(s: InterventionShown, a: NonNullable<InterventionShown['applied']>): HTMLElement[] {
    const what = describeIntervention(a.heads, a.units, (u) => this.tokenName(s, u));
    const out: HTMLElement[] = [el('div', 'intervention-title', `With an intervention: ${what}`)];
    const change = a.perToken && a.predictions ? lossChange(a.predictions, a.perToken, a.predictionKind) : null;
    out.push(
      el(
        'div',
        'intervention-summary',
        change
          ? `Mean loss ${change.before.toFixed(2)} → ${change.after.toFixed(2)} nats per token (${change.after >= change.before ? '+' : ''}${(change.after - change.before).toFixed(2)}) · mean KL ${change.meanKl.toFixed(3)} bits per token`
          : 'Turn on attentionExplorer.predictions to see what it changed in the predictions (Δ surprisal, KL divergence).',
      ),
    );
    if (a.perToken) out.push(this.deltaCells(s, a.perToken, a.predictionKind, a.wordOf));
    const heads = el('div', 'intervention-heads');
    heads.append(el('span', 'intervention-label', 'Heads that changed most:'));
    for (const h of a.changedHeads.slice(0, CHANGED_HEADS)) {
      const b = el('button', 'intervention-head', `${headName(h)} ${h.change.toFixed(2)}`);
      b.title = `Layer ${h.layer}, head ${h.head}: its rows moved by ${h.change.toFixed(3)} on average (total variation, 0–1); click to show it`;
      b.addEventListener('click', () => this.on.pickHead({ layer: h.layer, head: h.head }));
      heads.append(b);
    }
    out.push(heads);
    // While choosing, the chooser below has it.
    if (!s.editing) out.push(this.resetButton('Back to the plain run'));
    return out;
  }

  /** Drops the choice (and an intervened run shown, for the plain one). */
  private resetButton(text: string): HTMLElement {
    const reset = document.createElement('vscode-button');
    reset.id = 'intervention-reset';
    reset.setAttribute('secondary', '');
    reset.textContent = text;
    reset.addEventListener('click', () => this.on.reset());
    return reset;
  }

  /** Each shown unit's Δ surprisal: orange where it became more surprising, blue where less. */
  private deltaCells(
    s: InterventionShown,
    perToken: TokenEffect[],
    kind: PredictionKind,
    wordOf?: Int32Array,
  ): HTMLElement {
    const theme = readTheme();
    const effects = unitEffects(perToken, wordOf, s.tokens.length, kind);
    const cells = el('div', 'surprisal-cells intervention-deltas');
    cells.classList.toggle('parted', s.tokens.length <= 300);
    cells.append(
      ...effects.map((e, i) => {
        const c = el('span', 'surprisal-cell');
        c.dataset.index = String(i);
        c.dataset.delta = e.delta === null ? '' : e.delta.toFixed(3);
        if (e.delta !== null) {
          const strength = Math.min(1, Math.abs(e.delta) / FULL_DELTA_BITS);
          c.style.background = rgba(e.delta >= 0 ? theme.surprise : theme.accent, 0.05 + 0.95 * strength);
        }
        c.title = `${this.tokenName(s, i)}: ${e.delta === null ? 'no prediction' : `${e.delta >= 0 ? '+' : ''}${e.delta.toFixed(2)} bits of surprisal`} · KL ${e.kl.toFixed(3)} bits`;
        return c;
      }),
    );
    const box = el('div', 'intervention-delta');
    box.append(
      el(
        'div',
        'surprisal-caption',
        'Δ surprisal per token (orange: more surprising after the intervention, blue: less)',
      ),
      cells,
    );
    return box;
  }
}
