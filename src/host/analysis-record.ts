import type {
  AttentionView,
  ModelInfo,
  ShownPrediction,
  TokenInfo,
  TokenSummary,
  WebviewToHost,
} from '../common/protocol';

type ResultMessage = Extract<WebviewToHost, { type: 'result' }>;

/**
 * What the host knows of one analysis: where its text lies in the document, and what the webview
 * answered. Pure (no `vscode`): offsets are document offsets in UTF-16 units.
 */
export interface AnalysisRecord {
  requestId: number;
  uri: string;
  /** Document offset of the analysed text's first character. */
  baseOffset: number;
  textLength: number;
  result?: {
    tokens: TokenInfo[];
    model: ModelInfo;
    backend: ResultMessage['backend'];
    backendNote: string | null;
    runMs: number;
    analysedEnd: number;
    truncated: boolean;
    view: AttentionView;
    summaries: TokenSummary[];
    predictions: ShownPrediction[] | null;
    intervention: string | null;
  };
  stale: boolean;
}

export function recordResult(record: AnalysisRecord, m: ResultMessage): void {
  record.result = {
    tokens: m.tokens,
    model: m.model,
    backend: m.backend,
    backendNote: m.backendNote,
    runMs: m.runMs,
    analysedEnd: m.analysed.end,
    truncated: m.truncated,
    view: m.view,
    summaries: m.summaries,
    predictions: m.predictions,
    intervention: m.intervention,
  };
}

/** The token covering a document offset (the one starting there, at a boundary), if any. */
export function tokenAtOffset(record: AnalysisRecord, docOffset: number): number | undefined {
  const tokens = record.result?.tokens;
  if (!tokens) return undefined;
  const at = docOffset - record.baseOffset;
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = tokens[mid];
    if (t.end <= at) lo = mid + 1;
    else if (t.start > at) hi = mid - 1;
    else if (t.start === t.end)
      lo = mid + 1; // an empty token covers nothing
    else return mid;
  }
  return undefined;
}

/**
 * The analysed tokens a document range overlaps, first to last (tokens that cover no character
 * are skipped); undefined when it overlaps none.
 */
export function tokensInRange(
  record: AnalysisRecord,
  startOffset: number,
  endOffset: number,
): { first: number; last: number } | undefined {
  const tokens = record.result?.tokens;
  if (!tokens) return undefined;
  const start = startOffset - record.baseOffset;
  const end = endOffset - record.baseOffset;
  let first = -1;
  let last = -1;
  tokens.forEach((t, i) => {
    if (t.end <= t.start || t.end <= start || t.start >= end) return;
    if (first < 0) first = i;
    last = i;
  });
  return first < 0 ? undefined : { first, last };
}

export function tokenDocRange(record: AnalysisRecord, index: number): { start: number; end: number } {
  const t = record.result!.tokens[index];
  return { start: record.baseOffset + t.start, end: record.baseOffset + t.end };
}

export interface TextChange {
  /** Offset and length of the replaced text in the document before the change. */
  offset: number;
  length: number;
  insertedLength: number;
}

/**
 * Follows an edit: an edit before the analysed text shifts it; one that touches it makes the
 * result stale (its attention is for text that is no longer there); one after it changes nothing.
 */
export function applyChange(record: AnalysisRecord, change: TextChange): 'unchanged' | 'shifted' | 'stale' {
  const start = record.baseOffset;
  const end = start + (record.result?.analysedEnd ?? record.textLength);
  const changeEnd = change.offset + change.length;
  if (change.offset >= end) return 'unchanged';
  if (changeEnd <= start) {
    record.baseOffset += change.insertedLength - change.length;
    return 'shifted';
  }
  record.stale = true;
  return 'stale';
}
