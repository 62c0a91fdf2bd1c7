/** Makes whitespace and control characters in a token visible, as attention tools do. */
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
    else if (c === 0xfffd) out += '�';
    else out += ch;
  }
  return out || '∅';
}
