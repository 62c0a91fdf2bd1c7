import type { AnalyseRequest, AttentionView } from './protocol';
import { isView, parseHostMessage } from './protocol-validation';
import { isInt, isObj } from './validate';

/**
 * What survives a reload of the panel (VS Code keeps it with the panel): the page saves it, and
 * the host's serializer reads its request back to map the re-run's tokens onto the document.
 */
export interface PanelState {
  request?: AnalyseRequest;
  view: AttentionView;
  /** The open tab: one of TAB's values. */
  tab: number;
  colourByHead: boolean;
  /** Word level: sub-word tokens merged into words. */
  words: boolean;
  pinned: number | null;
}

/** The panel's tabs, in their order. */
export const TAB = { head: 0, matrix: 1, model: 2, queryKey: 3, heads: 4, compare: 5 } as const;

export const INITIAL_STATE: PanelState = {
  view: { layer: 0, head: 'mean' },
  tab: 0,
  colourByHead: false,
  words: false,
  pinned: null,
};

/**
 * The state VS Code gives back, checked like any message (it was written by an earlier version
 * of the page, or tampered with): what does not validate is replaced by the initial value.
 */
export function restoreState(raw: unknown): PanelState {
  if (!isObj(raw)) return { ...INITIAL_STATE };
  const request = parseHostMessage(raw.request);
  return {
    request: request.ok && request.message.type === 'analyse' ? request.message : undefined,
    view: isView(raw.view) ? { layer: raw.view.layer, head: raw.view.head } : INITIAL_STATE.view,
    tab: isInt(raw.tab) && raw.tab >= 0 && raw.tab <= TAB.compare ? raw.tab : TAB.head,
    colourByHead: raw.colourByHead === true,
    words: raw.words === true,
    pinned: isInt(raw.pinned) ? raw.pinned : null,
  };
}
