import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** Folders one page may read, under a secret of its own. */
export interface FileShare {
  /** `http://127.0.0.1:PORT/SECRET/` */
  readonly base: string;
  /** The URL of a shared folder (without a final '/') or of a file inside one; null for any other path. */
  urlOf(file: string): string | null;
  /** The share's URLs answer 404 from now on. */
  revoke(): void;
}

const TYPES: Record<string, string> = {
  '.wasm': 'application/wasm',
  '.js': 'text/javascript',
  '.json': 'application/json',
};

/** Headers that let the panel's page read the answer (its origin is VS Code's, not this server's). */
const CORS = {
  'access-control-allow-origin': '*',
  // Chromium's Private Network Access asks before a page reaches a local address.
  'access-control-allow-private-network': 'true',
  // A cross-origin isolated page (VS Code with --enable-coi) may still embed the answer.
  'cross-origin-resource-policy': 'cross-origin',
  // The page's own record of what it fetched (webview/timeline.ts) may see the sizes.
  'timing-allow-origin': '*',
};

/**
 * An HTTP server on 127.0.0.1 that gives the panel's page the model and the runtime. VS Code's
 * own ways into a webview (the resource loader, posted messages) carry 5–10 MB/s in code-server;
 * this carries ~100 MB/s (measured: the bundled 21 MB graph in 0.2 s against 2.1 s). Only folders
 * shared with a page are served, each share under a random 128-bit secret, only to GET and HEAD;
 * nothing is served outside a shared folder. A browser on another machine cannot reach it: the
 * page then falls back to VS Code's relay.
 */
export class LocalFileServer {
  private readonly shares = new Map<string, string[]>();

  private constructor(
    private readonly server: http.Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<LocalFileServer> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    // Neither keeps the extension host alive nor waits on an idle page's connection when closed.
    server.unref();
    const me = new LocalFileServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => me.answer(req, res));
    return me;
  }

  share(folders: string[]): FileShare {
    const secret = randomBytes(16).toString('hex');
    const roots = folders.map((f) => path.resolve(f));
    this.shares.set(secret, roots);
    const base = `${this.origin}/${secret}/`;
    return {
      base,
      urlOf: (file) => {
        const abs = path.resolve(file);
        const folder = roots.indexOf(abs);
        if (folder >= 0) return `${base}${folder}`;
        const i = roots.findIndex((r) => inside(r, abs));
        if (i < 0) return null;
        return `${base}${i}/${path.relative(roots[i], abs).split(path.sep).map(encodeURIComponent).join('/')}`;
      },
      revoke: () => this.shares.delete(secret),
    };
  }

  close(): Promise<void> {
    this.shares.clear();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, HEAD' }).end();
      return;
    }
    const file = this.fileOf(req.url ?? '');
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, CORS).end();
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, CORS).end();
        return;
      }
      res.writeHead(200, {
        ...CORS,
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        // The page keeps what it needs in its own cache, keyed by content.
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      fs.createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    });
  }

  /** The file a URL names: `/SECRET/FOLDER/relative/path`, inside that shared folder; else null. */
  private fileOf(url: string): string | null {
    const [secret, index, ...rest] = url.split('?')[0].split('/').slice(1);
    const roots = this.shares.get(secret ?? '');
    const root = roots?.[Number(index)];
    if (!root || !/^\d+$/.test(index) || rest.length === 0) return null;
    let parts: string[];
    try {
      parts = rest.map(decodeURIComponent);
    } catch {
      return null;
    }
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('/') || p.includes('\\'))) return null;
    const file = path.resolve(root, ...parts);
    return inside(root, file) ? file : null;
  }
}

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
