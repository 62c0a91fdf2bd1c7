/**
 * GPT-2's byte-level alphabet: every byte 0..255 is written as one printable Unicode character
 * in the vocabulary. Inverting it turns a byte-level token string back into the exact bytes it
 * covers, which is how token offsets are recovered (the tokenizer library gives none).
 */
function buildByteToChar(): string[] {
  const printable: number[] = [];
  const push = (from: number, to: number): void => {
    for (let b = from; b <= to; b++) printable.push(b);
  };
  push(0x21, 0x7e);
  push(0xa1, 0xac);
  push(0xae, 0xff);
  const table: string[] = new Array<string>(256);
  const isPrintable = new Set(printable);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = isPrintable.has(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The bytes a byte-level token string stands for, or undefined if it is not byte-level text. */
export function byteLevelTokenToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  let n = 0;
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return undefined;
    out[n++] = b;
  }
  return out.subarray(0, n);
}
