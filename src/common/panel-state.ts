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
  /** 0: head view, 1: matrix, 2: heads (the head finder). */
  tab: number;
  colourByHead: boolean;
  pinned: number | null;
}

export const INITIAL_STATE: PanelState = {
  view: { layer: 0, head: 'mean' },
  tab: 0,
  colourByHead: false,
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
    tab: raw.tab === 1 || raw.tab === 2 ? raw.tab : 0,
    colourByHead: raw.colourByHead === true,
    pinned: isInt(raw.pinned) ? raw.pinned : null,
  };
}
