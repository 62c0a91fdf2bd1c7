/**
 * Which tokens are analysed, and in which windows: windows are the model's context long and
 * overlap by a quarter of it; at most `maxTokens` tokens are analysed in all.
 */
export interface WindowPlan {
  windows: { start: number; end: number }[];
  /** Tokens analysed (a prefix of the sequence). */
  analysed: number;
  truncated: boolean;
}

export function planWindows(tokens: number, context: number, maxTokens: number): WindowPlan {
  const analysed = Math.min(tokens, Math.max(1, maxTokens));
  const windows: { start: number; end: number }[] = [];
  if (tokens === 0) return { windows, analysed: 0, truncated: false };
  const overlap = Math.floor(context / 4);
  const stride = Math.max(1, context - overlap);
  for (let start = 0; ; start += stride) {
    const end = Math.min(analysed, start + context);
    windows.push({ start, end });
    if (end >= analysed) break;
  }
  return { windows, analysed, truncated: analysed < tokens };
}
