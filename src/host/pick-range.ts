/**
 * Which text "Show Attention for Selection" analyses: the selection; with none, the current line;
 * with a blank line, the visible range. Offsets are document offsets; pure for Node tests.
 */
export interface RangeChoiceInput {
  selection: { start: number; end: number };
  line: { start: number; end: number; text: string };
  visible: { start: number; end: number } | undefined;
}

export type RangeChoice = { start: number; end: number; what: 'selection' | 'line' | 'visible range' };

export function pickRange(input: RangeChoiceInput): RangeChoice | undefined {
  const { selection, line, visible } = input;
  if (selection.end > selection.start) return { ...selection, what: 'selection' };
  if (line.text.trim().length > 0) return { start: line.start, end: line.end, what: 'line' };
  if (visible && visible.end > visible.start) return { ...visible, what: 'visible range' };
  return undefined;
}
