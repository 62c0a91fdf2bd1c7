/**
 * Which tokens are analysed, and in which windows: windows are the model's context long and
 * overlap by a quarter of it; at most `maxTokens` tokens are analysed in all.
 *
 * The special tokens a tokenizer puts around a sequence ([CLS] … [SEP], <s> … </s>, a BOS) are
 * given to every window again, as the model saw them in training: an encoder's attention leans on
 * them heavily, and a window without them is a distorted input. In the store they stay the
 * sequence's own first and last tokens, reached from every window.
 */
export interface PlannedWindow {
  /** The window's contiguous run of the sequence, [start, end). */
  start: number;
  end: number;
  /** Sequence indices re-added before the run (the leading specials, for every window but the first). */
  lead: number[];
  /** Sequence indices re-added after the run (the trailing specials, for every window but the last). */
  trail: number[];
}

export interface WindowPlan {
  windows: PlannedWindow[];
  /** Tokens analysed (a prefix of the sequence). */
  analysed: number;
  truncated: boolean;
}

export interface EdgeSpecials {
  /** How many special tokens open the sequence. */
  lead: number;
  /** How many close it. */
  trail: number;
}

/**
 * Whether a token was added around the text by the tokenizer's template ([CLS], [SEP], <s>): a
 * special token that covers no text. ([UNK] is special too, but stands for text.)
 */
export function addedBySequenceTemplate(t: { special: boolean; start: number; end: number }): boolean {
  return t.special && t.start === t.end;
}

/** The runs of special tokens at a sequence's two ends. */
export function edgeSpecials(special: readonly boolean[]): EdgeSpecials {
  let lead = 0;
  while (lead < special.length && special[lead]) lead++;
  if (lead === special.length) return { lead: 0, trail: 0 };
  let trail = 0;
  while (trail < special.length && special[special.length - 1 - trail]) trail++;
  return { lead, trail };
}

export function planWindows(
  tokens: number,
  context: number,
  maxTokens: number,
  edges: EdgeSpecials = { lead: 0, trail: 0 },
): WindowPlan {
  const analysed = Math.min(tokens, Math.max(1, maxTokens));
  const windows: PlannedWindow[] = [];
  if (tokens === 0) return { windows, analysed: 0, truncated: false };
  const truncated = analysed < tokens;
  // A cut sequence has lost its closing specials; a context too small to hold them gets none.
  let lead = edges.lead;
  let trail = truncated ? 0 : edges.trail;
  if (context - lead - trail < 2) lead = trail = 0;
  if (analysed <= context) return { windows: [{ start: 0, end: analysed, lead: [], trail: [] }], analysed, truncated };

  const room = context - lead - trail;
  const overlap = Math.floor(context / 4);
  const stride = Math.max(1, room - overlap);
  const coreEnd = analysed - trail;
  const leadIdx = Array.from({ length: lead }, (_, i) => i);
  const trailIdx = Array.from({ length: trail }, (_, i) => coreEnd + i);
  for (let s = lead; ; s += stride) {
    const e = Math.min(coreEnd, s + room);
    const first = s === lead;
    const last = e >= coreEnd;
    windows.push({
      start: first ? 0 : s,
      end: last ? analysed : e,
      lead: first ? [] : leadIdx,
      trail: last ? [] : trailIdx,
    });
    if (last) break;
  }
  return { windows, analysed, truncated };
}
