/** The token the views centre on: hovered for a moment, or pinned by a click. */
export interface Focus {
  index: number;
  /** Whether the focus is a query (what it attends to) or a key (what attends to it). */
  side: 'query' | 'key';
  pinned: boolean;
}

export type FocusListener = (focus: Focus | null) => void;
