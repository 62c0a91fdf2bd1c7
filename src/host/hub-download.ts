import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GRAPH_FILES } from './model-source';

/**
 * Downloads one file of a Hugging Face Hub repository into a local cache: the Hub's URL layout
 * (`{endpoint}/{repo}/resolve/{revision}/{path}`, LFS files redirected elsewhere), written to a
 * `.part` file, resumed with a Range request when cut off, verified (size, and the SHA-256 the
 * Hub reports for LFS files in X-Linked-Etag) and renamed only when complete. Pure Node: no
 * `vscode`, so it is tested against a local server.
 */
export interface HubFileRequest {
  endpoint: string;
  repo: string;
  revision?: string;
  path: string;
  /** Where the verified file ends up. */
  dest: string;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface HubFile {
  dest: string;
  size: number;
  sha256?: string;
  /** Whether the file was already in the cache, verified. */
  cached: boolean;
}

export class HubError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-found' | 'network' | 'verify' | 'http' | 'cancelled',
  ) {
    super(message);
  }
}

interface Expected {
  size?: number;
  sha256?: string;
  /** The URL the bytes come from, after the Hub's redirect. */
  url: string;
}

function resolveUrl(r: HubFileRequest): string {
  const base = r.endpoint.replace(/\/+$/, '');
  return `${base}/${r.repo}/resolve/${encodeURIComponent(r.revision ?? 'main')}/${r.path.split('/').map(encodeURIComponent).join('/')}`;
}

async function request(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new HubError(`download of ${what} cancelled`, 'cancelled');
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubError(
      `cannot reach ${new URL(url).origin} for ${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      'network',
    );
  }
}

/** Asks the Hub what the file is (size, hash) and where its bytes are, following redirects by hand. */
async function probe(r: HubFileRequest): Promise<Expected> {
  const what = `${r.repo}/${r.path}`;
  let url = resolveUrl(r);
  let size: number | undefined;
  let sha256: string | undefined;
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(url, { method: 'HEAD', redirect: 'manual', signal: r.signal }, what);
    const linkedSize = res.headers.get('x-linked-size');
    const linkedEtag = res.headers.get('x-linked-etag')?.replace(/^W\//, '').replace(/"/g, '');
    if (linkedSize && size === undefined) size = Number(linkedSize);
    if (linkedEtag && /^[0-9a-f]{64}$/.test(linkedEtag) && !sha256) sha256 = linkedEtag;
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      if (!location) throw new HubError(`the Hub redirected ${what} without a location`, 'http');
      url = new URL(location, url).toString();
      continue;
    }
    if (res.status === 404 || res.status === 401) {
      throw new HubError(
        `${what} was not found on ${new URL(resolveUrl(r)).origin} (the model id, revision or file does not exist, or is private)`,
        'not-found',
      );
    }
    if (!res.ok) throw new HubError(`the Hub answered ${res.status} ${res.statusText} for ${what}`, 'http');
    const length = res.headers.get('content-length');
    if (size === undefined && length) size = Number(length);
    return { size, sha256, url };
  }
  throw new HubError(`too many redirects for ${what}`, 'http');
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function verified(file: string, e: Expected): Promise<boolean> {
  if (!fs.existsSync(file)) return false;
  if (e.size !== undefined && fs.statSync(file).size !== e.size) return false;
  return e.sha256 === undefined || (await sha256Of(file)) === e.sha256;
}

export async function downloadHubFile(r: HubFileRequest): Promise<HubFile> {
  const what = `${r.repo}/${r.path}`;
  const expected = await probe(r);
  if (await verified(r.dest, expected))
    return { dest: r.dest, size: fs.statSync(r.dest).size, sha256: expected.sha256, cached: true };
  // A cached file that does not verify (corrupt, or changed upstream) is fetched again.
  fs.rmSync(r.dest, { force: true });
  fs.mkdirSync(path.dirname(r.dest), { recursive: true });
  const part = `${r.dest}.part`;
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  if (expected.size !== undefined && have > expected.size) {
    fs.rmSync(part);
    have = 0;
  }
  if (expected.size === undefined || have < expected.size) {
    const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
    const res = await request(expected.url, { headers, signal: r.signal }, what);
    if (res.status === 404) throw new HubError(`${what} was not found`, 'not-found');
    if (!res.ok || !res.body)
      throw new HubError(`the Hub answered ${res.status} ${res.statusText} for ${what}`, 'http');
    if (have > 0 && res.status !== 206) have = 0; // the server ignored the Range: start over
    const out = fs.createWriteStream(part, { flags: have > 0 ? 'a' : 'w' });
    let received = have;
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await new Promise<void>((resolve, reject) => out.write(value, (err) => (err ? reject(err) : resolve())));
        received += value.byteLength;
        r.onProgress?.(received, expected.size);
      }
    } catch (e) {
      if (r.signal?.aborted)
        throw new HubError(`download of ${what} cancelled (${received} bytes kept to resume)`, 'cancelled');
      throw new HubError(
        `the download of ${what} was cut off after ${received} bytes (kept to resume): ${(e as Error).message}`,
        'network',
      );
    } finally {
      await new Promise<void>((resolve) => out.end(() => resolve()));
    }
  }
  const size = fs.statSync(part).size;
  if (expected.size !== undefined && size !== expected.size) {
    throw new HubError(
      `the download of ${what} ended at ${size} of ${expected.size} bytes (kept to resume)`,
      'network',
    );
  }
  if (expected.sha256 !== undefined) {
    const got = await sha256Of(part);
    if (got !== expected.sha256) {
      fs.rmSync(part, { force: true });
      throw new HubError(
        `${what} failed verification: SHA-256 ${got} where the Hub reports ${expected.sha256}; the file was discarded`,
        'verify',
      );
    }
  }
  fs.renameSync(part, r.dest);
  return { dest: r.dest, size, sha256: expected.sha256, cached: false };
}

/**
 * Where a graph's tokenizer.json and config.json lie in the repository, as a path prefix: the top
 * for a graph at the top or under onnx/, else the graph's own folder.
 */
export function repoHome(graph: string): string {
  const dir = path.posix.dirname(graph);
  return dir === 'onnx' || dir === '.' ? '' : `${dir}/`;
}

/** The file's size, or null when the repository does not have it (other failures throw). */
async function hubFileSize(r: Omit<HubFileRequest, 'dest'>): Promise<number | undefined | null> {
  try {
    return (await probe({ ...r, dest: '' })).size;
  } catch (e) {
    if (e instanceof HubError && e.kind === 'not-found') return null;
    throw e;
  }
}

async function hubFileExists(r: Omit<HubFileRequest, 'dest'>): Promise<boolean> {
  return (await hubFileSize(r)) !== null;
}

/** A small text file of the repository (config.json), or undefined when it has none. */
export async function hubText(
  endpoint: string,
  repo: string,
  file: string,
  revision?: string,
): Promise<string | undefined> {
  const url = resolveUrl({ endpoint, repo, revision, path: file, dest: '' });
  const res = await request(url, {}, `${repo}/${file}`);
  if (res.status === 404 || res.status === 401) return undefined;
  if (!res.ok) throw new HubError(`the Hub answered ${res.status} ${res.statusText} for ${repo}/${file}`, 'http');
  return res.text();
}

export interface HubModelRequest {
  endpoint: string;
  repo: string;
  revision?: string;
  /** The graph within the repository, e.g. onnx/model.onnx or onnx/model_quantized.onnx. */
  graph: string;
  /** The cache folder for this repository. */
  folder: string;
  signal?: AbortSignal;
  onProgress?: (file: string, received: number, total: number | undefined) => void;
}

/**
 * The variants transformers.js and ONNX Runtime exports name their graphs with: 8-bit
 * (quantized, int8, uint8), float16, 4-bit (q4 with MatMulNBits, q4f16 with float16 elsewhere,
 * bnb4).
 */
export const GRAPH_VARIANTS = ['quantized', 'fp16', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;

/** One graph a repository offers, with the external data files beside it and the bytes of all. */
export interface HubGraph {
  graph: string;
  /** External data files (`model.onnx_data`, `model.onnx.data`, split ones `model.onnx_data_1`, …). */
  externalData: string[];
  /** Graph and external data together; undefined when the Hub did not say a size. */
  bytes: number | undefined;
}

/** Runs `f` over `items` with at most `limit` at once (the Hub rate-limits bursts of requests). */
async function mapLimited<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The external data files of a graph in the repository, with their sizes. */
async function externalDataOf(
  base: Omit<HubFileRequest, 'dest' | 'path'>,
  graph: string,
): Promise<{ file: string; size: number | undefined }[]> {
  const found: { file: string; size: number | undefined }[] = [];
  for (const name of [`${graph}_data`, `${graph}.data`]) {
    const size = await hubFileSize({ ...base, path: name });
    if (size !== null) found.push({ file: name, size });
  }
  // Split external data (transformers.js names the parts after the first _data_1, _data_2, …).
  for (let k = 1; found.length > 0 && k < 64; k++) {
    const name = `${graph}_data_${k}`;
    const size = await hubFileSize({ ...base, path: name });
    if (size === null) break;
    found.push({ file: name, size });
  }
  return found;
}

/** The graphs a repository offers, in the Hub's layout (onnx/ first), the plain one first, with sizes. */
export async function hubGraphs(endpoint: string, repo: string, revision?: string): Promise<HubGraph[]> {
  const candidates = GRAPH_FILES.flatMap((f) => {
    const stem = f.replace(/\.onnx$/, '');
    return [`onnx/${f}`, f, ...GRAPH_VARIANTS.flatMap((v) => [`onnx/${stem}_${v}.onnx`, `${stem}_${v}.onnx`])];
  });
  // HEAD requests, several at a time: a repository holds a few of these 64.
  const sizes = await mapLimited(candidates, 8, (c) => hubFileSize({ endpoint, repo, revision, path: c }));
  const found = candidates.filter((_, i) => sizes[i] !== null);
  // One family only: a whole model when there is one, else the encoder, else a decoder.
  const variant = `(_(${GRAPH_VARIANTS.join('|')}))?`;
  const ofFamily =
    (f: string) =>
    (c: string): boolean =>
      new RegExp(`^${f.replace(/\.onnx$/, '')}${variant}\\.onnx$`).test(path.posix.basename(c));
  const family = GRAPH_FILES.find((f) => found.some(ofFamily(f)));
  if (!family) return [];
  const graphs = found.filter(ofFamily(family));
  return mapLimited(graphs, 4, async (graph) => {
    const external = await externalDataOf({ endpoint, repo, revision }, graph);
    const parts = [sizes[candidates.indexOf(graph)], ...external.map((e) => e.size)];
    const bytes = parts.every((n) => n !== undefined && n !== null)
      ? parts.reduce<number>((s, n) => s + (n ?? 0), 0)
      : undefined;
    return { graph, externalData: external.map((e) => e.file), bytes };
  });
}

/**
 * Whether the repository exists (and is public): every Hub repository has a .gitattributes;
 * a mirror may lack it, so a config.json or README.md counts too.
 */
export async function hubRepoExists(endpoint: string, repo: string, revision?: string): Promise<boolean> {
  for (const f of ['.gitattributes', 'config.json', 'README.md']) {
    if (await hubFileExists({ endpoint, repo, revision, path: f })) return true;
  }
  return false;
}

/**
 * Downloads a model: its graph (with an external data file when there is one), tokenizer.json
 * (required), config.json and tokenizer_config.json (when present), into `folder` in the same
 * layout, and returns the local path of the graph.
 */
export async function downloadHubModel(r: HubModelRequest): Promise<string> {
  const base = { endpoint: r.endpoint, repo: r.repo, revision: r.revision, signal: r.signal };
  const fetchFile = (file: string) =>
    downloadHubFile({
      ...base,
      path: file,
      dest: path.join(r.folder, file),
      onProgress: (n, t) => r.onProgress?.(file, n, t),
    });
  const home = repoHome(r.graph);
  if (!(await hubFileExists({ ...base, path: `${home}tokenizer.json` }))) {
    throw new HubError(
      `${r.repo} has no tokenizer.json; Attention Explorer needs it to turn text into tokens`,
      'not-found',
    );
  }
  const graph = await fetchFile(r.graph);
  for (const data of await externalDataOf(base, r.graph)) await fetchFile(data.file);
  await fetchFile(`${home}tokenizer.json`);
  for (const optional of [`${home}config.json`, `${home}tokenizer_config.json`]) {
    if (await hubFileExists({ ...base, path: optional })) await fetchFile(optional);
  }
  return graph.dest;
}
