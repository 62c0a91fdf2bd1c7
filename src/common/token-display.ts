/**
 * How a token is shown, in the panel and in the editor's hover alike: whitespace and control
 * characters made visible, as attention tools do, and an empty token as ∅.
 */
export function visibleToken(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\n') out += '↵';
    else if (ch === '\r') out += '';
    else if (ch === '\t') out += '→';
    else if (ch === ' ') out += '·';
    else if (c < 0x20) out += String.fromCodePoint(0x2400 + c);
    else if (c === 0x7f) out += '␡';
    else out += ch;
  }
  return out || '∅';
}

/** A token as a label in a drawing (the head view, its SVG): shown as above, cut to `max` with an ellipsis. */
export function tokenLabel(text: string, max = 24): string {
  const shown = visibleToken(text);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/**
 * A token as Markdown inline code inside a table cell (the hover): shown as in the panel, with
 * the two characters that would end the code span or the cell replaced by look-alikes.
 */
export function tokenInMarkdownTable(text: string): string {
  return `\`${visibleToken(text).replace(/`/g, 'ˋ').replace(/\|/g, '¦')}\``;
}
