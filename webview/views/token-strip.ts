import type { AttentionStore } from '../../src/common/attention-store';
import type { AttentionView, TokenInfo } from '../../src/common/protocol';
import { focusLast, inFocus, type Focus } from './focus';
import { visibleToken } from '../../src/common/token-display';
import { readTheme, rgba } from './theme';
import { MARK_MIN, TINT_MIN, tintAlpha } from '../../src/common/shading';

/**
 * The analysed text as token chips, laid out like the text. The focused token shades what it
 * attends to (background) and underlines what attends to it.
 */
export class TokenStrip {
  readonly element: HTMLDivElement;
  private chips: HTMLSpanElement[] = [];
  /** What each chip was last given, so that a redraw writes only what changed. */
  private applied: { background: string; shadow: string; focused: boolean; pinned: boolean }[] = [];

  constructor(
    private readonly onFocus: (index: number, side: 'query' | 'key', click: boolean) => void,
    private readonly onLeave: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'token-strip';
    this.element.addEventListener('mouseleave', () => this.onLeave());
  }

  setTokens(tokens: TokenInfo[]): void {
    this.element.replaceChildren();
    this.applied = [];
    this.chips = tokens.map((t, i) => {
      const chip = document.createElement('span');
      chip.className = t.special ? 'token special' : 'token';
      chip.dataset.index = String(i);
      chip.textContent = visibleToken(t.text);
      chip.title = `token ${i} · id ${t.id}`;
      chip.addEventListener('mouseenter', () => this.onFocus(i, 'query', false));
      chip.addEventListener('click', () => this.onFocus(i, 'query', true));
      this.element.append(chip);
      if (t.text.includes('\n')) this.element.append(document.createElement('br'));
      return chip;
    });
  }

  /** Marks the tokens an intervention hides (chosen, or in the run shown). */
  markHidden(units: readonly number[]): void {
    const hidden = new Set(units);
    this.chips.forEach((chip, i) => chip.classList.toggle('hidden-token', hidden.has(i)));
  }

  render(store: AttentionStore, view: AttentionView, focus: Focus | null): void {
    const theme = readTheme();
    const none = new Float32Array(this.chips.length);
    const { layer, head } = view;
    const attends = focus ? store.rowsSum(layer, head, focus.index, focusLast(focus)) : none;
    const attendedBy = !focus
      ? none
      : focus.last === undefined
        ? store.column(layer, head, focus.index)
        : store.columnsSum(layer, head, focus.index, focus.last);
    this.chips.forEach((chip, i) => {
      const background = attends[i] > TINT_MIN ? rgba(theme.accent, tintAlpha(attends[i], 0.1)) : '';
      const shadow =
        attendedBy[i] > MARK_MIN
          ? `inset 0 -${Math.ceil(4 * attendedBy[i])}px 0 ${rgba([230, 140, 30], 0.4 + 0.6 * attendedBy[i])}`
          : '';
      const focused = inFocus(focus, i);
      const pinned = focused && focus!.pinned;
      // Only what changed is written: a hover changes a few of a thousand chips, and every style
      // write, even of the same value, costs the page (measured: 1,024 chips).
      const was = this.applied[i];
      if (was?.background === background && was.shadow === shadow && was.focused === focused && was.pinned === pinned)
        return;
      chip.style.background = background;
      chip.style.boxShadow = shadow;
      chip.classList.toggle('focused', focused);
      chip.classList.toggle('pinned', pinned);
      this.applied[i] = { background, shadow, focused, pinned };
    });
  }

  reveal(index: number): void {
    this.chips[index]?.scrollIntoView({ block: 'nearest' });
  }
}
