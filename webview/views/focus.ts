/** The token the views centre on: hovered for a moment, or pinned by a click. */
export interface Focus {
  index: number;
  /** Whether the focus is a query (what it attends to) or a key (what attends to it). */
  side: 'query' | 'key';
  pinned: boolean;
}

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
