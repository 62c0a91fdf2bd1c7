import { isHeadChoice, parseHostMessage, type AttentionView, type HostToWebview } from '../src/common/protocol';

export type AnalyzeMessage = Extract<HostToWebview, { type: 'analyze' }>;

/** What survives a reload of the webview (VS Code keeps it with the panel). */
export interface SavedState {
  request?: AnalyzeMessage;
  view: AttentionView;
  tab: number;
  colourByHead: boolean;
  pinned: number | null;
}

export const INITIAL_STATE: SavedState = { view: { layer: 0, head: 'mean' }, tab: 0, colourByHead: false, pinned: null };

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * The state VS Code gives back, checked like any message (it was written by an earlier version
 * of the page, or tampered with): what does not validate is replaced by the initial value.
 */
export function restoreState(raw: unknown): SavedState {
  if (typeof raw !== 'object' || raw === null) return { ...INITIAL_STATE };
  const s = raw as Record<string, unknown>;
  const view = s.view as Record<string, unknown> | undefined;
  const request = parseHostMessage(s.request);
  return {
    request: request.ok && request.message.type === 'analyze' ? request.message : undefined,
    view: view && isIndex(view.layer) && isHeadChoice(view.head) ? { layer: view.layer, head: view.head } : INITIAL_STATE.view,
    tab: s.tab === 1 ? 1 : 0,
    colourByHead: s.colourByHead === true,
    pinned: isIndex(s.pinned) ? s.pinned : null,
  };
}
