/** Fetching on the page (fetches from inside a webview worker are unreliable in some VS Code versions). */

/** Streams a response, reporting bytes as they arrive. */
export async function fetchBytes(
  url: string,
  what: string,
  onBytes: (n: number, total: number) => void,
): Promise<ArrayBuffer> {
  const res = await fetch(url).catch((e: Error) => {
    throw new Error(`could not load the ${what} (${e.message})`);
  });
  if (!res.ok) throw new Error(`could not load the ${what} (${res.status} ${res.statusText})`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) return res.arrayBuffer();
  const reader = res.body.getReader();
  // With the size known, each chunk is copied into place as it arrives: gathering them at the end
  // blocked the page for 1.3 s on a 435 MB graph (measured).
  const whole = total ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (whole && n + value.byteLength <= total) whole.set(value, n);
    else chunks.push(value);
    n += value.byteLength;
    onBytes(n, total);
  }
  if (total && n !== total) throw new Error(`the ${what} arrived cut off (${n} of ${total} bytes)`);
  if (whole) return whole.buffer;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.buffer;
}

/** A text file, or null when there is no URL. */
export async function fetchText(url: string | null, what: string): Promise<string | null> {
  if (!url) return null;
  const res = await fetch(url).catch(() => undefined);
  if (!res?.ok) throw new Error(`could not load the ${what}`);
  return res.text();
}
