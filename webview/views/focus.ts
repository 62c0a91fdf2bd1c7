/** The token the views centre on: hovered for a moment, or pinned by a click. */
export interface Focus {
  index: number;
  /** Whether the focus is a query (what it attends to) or a key (what attends to it). */
  side: 'query' | 'key';
  pinned: boolean;
  /** Several tokens focused together (an editor selection): `index` to `last`, their rows summed. */
  last?: number;
}

/** The focus's last token: `index` itself unless several tokens are focused together. */
export const focusLast = (f: Focus): number => f.last ?? f.index;

/** Whether token `i` is in the focus. */
export const inFocus = (f: Focus | null, i: number): boolean => f !== null && i >= f.index && i <= focusLast(f);

/**
 * The focus after the pointer enters a token (`click`: it was clicked). A click pins, a click on
 * the pinned token unpins; a hover moves an unpinned focus and leaves a pinned one.
 * Undefined: nothing changes.
 */
export function focusAfter(
  focus: Focus | null,
  index: number,
  side: Focus['side'],
  click: boolean,
): Focus | null | undefined {
  if (click) {
    const unpin = focus?.pinned && focus.index === index && focus.side === side;
    return unpin ? null : { index, side, pinned: true };
  }
  if (focus?.pinned || (focus?.index === index && focus.side === side)) return undefined;
  return { index, side, pinned: false };
}

/** The focus after the pointer leaves the views: a hover ends, a pin stays. Undefined: nothing changes. */
export function focusAfterLeave(focus: Focus | null): null | undefined {
  return focus && !focus.pinned ? null : undefined;
}

/**
 * The focus after a key press in the panel (outside its pickers and table): the arrows move a
 * pinned focus to the previous or next token (from the first, when nothing is focused), Home and
 * End to the ends, Escape unpins. Undefined: the key is not the panel's.
 */
export function focusAfterKey(focus: Focus | null, key: string, tokens: number): Focus | null | undefined {
  if (tokens === 0) return undefined;
  const side = focus?.side ?? 'query';
  const at = (index: number): Focus => ({ index: Math.max(0, Math.min(tokens - 1, index)), side, pinned: true });
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return at(focus ? focus.index + 1 : 0);
    case 'ArrowLeft':
    case 'ArrowUp':
      return at(focus ? focus.index - 1 : 0);
    case 'Home':
      return at(0);
    case 'End':
      return at(tokens - 1);
    case 'Escape':
      return focus ? null : undefined;
    default:
      return undefined;
  }
}
