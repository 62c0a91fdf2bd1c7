import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeHubFile {
  content: Buffer;
  /** Served as the Hub serves LFS files: a redirect with X-Linked-Etag (SHA-256) and X-Linked-Size. */
  lfs: boolean;
  /** Declare this SHA-256 instead of the content's (to test a mismatch). */
  declaredSha256?: string;
  /** Cut the first transfer of the file off after this many bytes. */
  cutOffAfter?: number;
}

/**
 * A small server on 127.0.0.1 with the Hub's URL layout: `/{repo}/resolve/{revision}/{path}`,
 * LFS files redirected to a storage URL that honours Range requests.
 */
export async function fakeHub(files: Record<string, FakeHubFile>) {
  const requests: { method: string; url: string; range?: string }[] = [];
  const cutDone = new Set<string>();
  const sha = (f: FakeHubFile): string => f.declaredSha256 ?? createHash('sha256').update(f.content).digest('hex');
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', url, range: req.headers.range });
    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (resolve) {
      const key = `${resolve[1]}/${decodeURIComponent(resolve[3])}`;
      const f = files[key];
      if (!f) {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' });
        res.end('Entry not found');
        return;
      }
      if (f.lfs) {
        res.writeHead(302, {
          location: `/storage/${encodeURIComponent(key)}`,
          'x-linked-etag': `"${sha(f)}"`,
          'x-linked-size': String(f.content.length),
          etag: `"${sha(f)}"`,
        });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': String(f.content.length), etag: '"0123abcd"' });
      res.end(req.method === 'HEAD' ? undefined : f.content);
      return;
    }
    const storage = /^\/storage\/(.+)$/.exec(url);
    const f = storage ? files[decodeURIComponent(storage[1])] : undefined;
    if (!storage || !f) {
      res.writeHead(404);
      res.end();
      return;
    }
    const key = decodeURIComponent(storage[1]);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const body = f.content.subarray(start);
    const headers: Record<string, string> = { 'content-length': String(body.length), 'accept-ranges': 'bytes' };
    if (range) headers['content-range'] = `bytes ${start}-${f.content.length - 1}/${f.content.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (f.cutOffAfter !== undefined && !cutDone.has(key)) {
      cutDone.add(key);
      res.write(body.subarray(0, f.cutOffAfter), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
