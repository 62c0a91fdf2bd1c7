/** Fetching on the page (fetches from inside a webview worker are unreliable in some VS Code versions). */

/**
 * A URL's response, or an error naming what was asked for; with `answerMs`, given up when no
 * answer has begun within it (the body may then take as long as it takes).
 */
async function answer(url: string, what: string, answerMs?: number): Promise<Response> {
  const abort = new AbortController();
  const timer = answerMs ? setTimeout(() => abort.abort(), answerMs) : undefined;
  let res: Response;
  try {
    res = await fetch(url, { signal: abort.signal });
  } catch (e) {
    const why = abort.signal.aborted ? `no answer within ${answerMs} ms` : (e as Error).message;
    throw new Error(`could not load the ${what} (${why})`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok) throw new Error(`could not load the ${what} (${res.status} ${res.statusText})`);
  return res;
}

/** Streams a response, reporting bytes as they arrive. */
export async function fetchBytes(
  url: string,
  what: string,
  onBytes: (n: number, total: number) => void,
  answerMs?: number,
): Promise<ArrayBuffer> {
  const res = await answer(url, what, answerMs);
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
export async function fetchText(url: string | null, what: string, answerMs?: number): Promise<string | null> {
  if (!url) return null;
  return (await answer(url, what, answerMs)).text();
}
