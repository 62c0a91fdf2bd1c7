import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  HubError,
  downloadHubFile,
  downloadHubModel,
  hubGraphs,
  hubRepoExists,
  hubText,
} from '../../src/host/hub-download';
import { fakeHub } from '../support/fake-hub';

const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) % 251));
const sha = createHash('sha256').update(big).digest('hex');
let hub: Awaited<ReturnType<typeof fakeHub>>;
let cache: string;

before(async () => {
  hub = await fakeHub({
    'org/tiny/onnx/model.onnx': { content: big, lfs: true },
    'org/tiny/tokenizer.json': { content: Buffer.from('{"model":{}}'), lfs: false },
    'org/cut/onnx/model.onnx': { content: big, lfs: true, cutOffAfter: 100_000 },
    'org/bad/onnx/model.onnx': { content: big, lfs: true, declaredSha256: 'f'.repeat(64) },
    'org/t5/onnx/encoder_model.onnx': { content: big, lfs: true },
    'org/t5/onnx/encoder_model_quantized.onnx': { content: big, lfs: true },
    'org/t5/onnx/decoder_model_merged.onnx': { content: big, lfs: true },
    'org/gpt/onnx/decoder_model.onnx': { content: big, lfs: true },
    'org/gpt/onnx/decoder_model_merged.onnx': { content: big, lfs: true },
    'org/gpt/onnx/decoder_model_merged_fp16.onnx': { content: big, lfs: true },
    'org/flat/model.onnx': { content: big, lfs: true },
    'org/docs/.gitattributes': { content: Buffer.from('*.onnx filter=lfs'), lfs: false },
    'org/flat/model_quantized.onnx': { content: big, lfs: true },
    // An LLM export as transformers.js publishes them: every variant, the float ones with split external data.
    'org/llm/config.json': { content: Buffer.from('{"num_hidden_layers":24,"num_attention_heads":14}'), lfs: false },
    'org/llm/tokenizer.json': { content: Buffer.from('{"model":{}}'), lfs: false },
    'org/llm/onnx/model.onnx': { content: Buffer.alloc(1000), lfs: true },
    'org/llm/onnx/model.onnx_data': { content: Buffer.alloc(3000), lfs: true },
    'org/llm/onnx/model.onnx_data_1': { content: Buffer.alloc(2000), lfs: true },
    'org/llm/onnx/model_fp16.onnx': { content: Buffer.alloc(900), lfs: true },
    'org/llm/onnx/model_fp16.onnx_data': { content: Buffer.alloc(2500), lfs: true },
    'org/llm/onnx/model_q4.onnx': { content: Buffer.alloc(1500), lfs: true },
    'org/llm/onnx/model_q4f16.onnx': { content: Buffer.alloc(1200), lfs: true },
    'org/llm/onnx/model_uint8.onnx': { content: Buffer.alloc(1600), lfs: true },
    'org/llm/onnx/model_bnb4.onnx': { content: Buffer.alloc(1400), lfs: true },
  });
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-hub-'));
});
after(async () => {
  await hub.close();
  fs.rmSync(cache, { recursive: true, force: true });
});

const get = (repo: string, file: string, extra: Partial<Parameters<typeof downloadHubFile>[0]> = {}) =>
  downloadHubFile({ endpoint: hub.url, repo, path: file, dest: path.join(cache, repo, file), ...extra });

test('an LFS file is fetched through the redirect, verified by SHA-256, and served from the cache the second time', async () => {
  const progress: number[] = [];
  const r = await get('org/tiny', 'onnx/model.onnx', {
    onProgress: (n, total) => {
      progress.push(n);
      assert.equal(total, big.length);
    },
  });
  assert.equal(r.cached, false);
  assert.equal(r.sha256, sha);
  assert.deepEqual(fs.readFileSync(r.dest), big);
  assert.equal(progress[progress.length - 1], big.length);
  assert.equal(fs.existsSync(`${r.dest}.part`), false);
  const storageGets = (): number =>
    hub.requests.filter((q) => q.url.startsWith('/storage/') && q.method === 'GET').length;
  const gets = storageGets();
  const again = await get('org/tiny', 'onnx/model.onnx');
  assert.equal(again.cached, true);
  assert.equal(storageGets(), gets, 'no bytes fetched for a verified cached file');
  const plain = await get('org/tiny', 'tokenizer.json');
  assert.equal(fs.readFileSync(plain.dest, 'utf8'), '{"model":{}}');
});

test('a transfer cut off midway keeps its bytes and resumes with a Range request', async () => {
  await assert.rejects(
    get('org/cut', 'onnx/model.onnx'),
    (e: Error) => e instanceof HubError && e.kind === 'network' && /cut off|ended at/.test(e.message),
  );
  const part = path.join(cache, 'org/cut/onnx/model.onnx.part');
  const kept = fs.statSync(part).size;
  assert.ok(kept > 0 && kept < big.length, `kept ${kept} bytes`);
  const r = await get('org/cut', 'onnx/model.onnx');
  assert.deepEqual(fs.readFileSync(r.dest), big);
  const ranged = hub.requests.filter((q) => q.range);
  assert.deepEqual(
    ranged.map((q) => q.range),
    [`bytes=${kept}-`],
  );
});

test('a file that does not exist is a not-found error naming it', async () => {
  await assert.rejects(
    get('org/tiny', 'onnx/model_fp16.onnx'),
    (e: Error) =>
      e instanceof HubError &&
      e.kind === 'not-found' &&
      /org\/tiny\/onnx\/model_fp16\.onnx was not found/.test(e.message),
  );
  await assert.rejects(get('nobody/nothing', 'config.json'), /nobody\/nothing\/config\.json was not found/);
});

test('a hash mismatch discards the download and says so', async () => {
  const dest = path.join(cache, 'org/bad/onnx/model.onnx');
  await assert.rejects(
    get('org/bad', 'onnx/model.onnx'),
    (e: Error) => e instanceof HubError && e.kind === 'verify' && /failed verification: SHA-256/.test(e.message),
  );
  assert.equal(fs.existsSync(dest), false);
  assert.equal(fs.existsSync(`${dest}.part`), false);
});

test('a corrupt cached file is detected and fetched again', async () => {
  const r = await get('org/tiny', 'onnx/model.onnx');
  fs.writeFileSync(r.dest, big.subarray(0, 1000));
  const again = await get('org/tiny', 'onnx/model.onnx');
  assert.equal(again.cached, false);
  assert.deepEqual(fs.readFileSync(again.dest), big);
});

test('no network: a clear error naming the endpoint', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  await assert.rejects(
    downloadHubFile({
      endpoint: `http://127.0.0.1:${port}`,
      repo: 'org/tiny',
      path: 'config.json',
      dest: path.join(cache, 'x', 'config.json'),
    }),
    (e: Error) =>
      e instanceof HubError &&
      e.kind === 'network' &&
      new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}`).test(e.message),
  );
});

test('a cancelled download stops, keeps what it has, and says so', async () => {
  const ac = new AbortController();
  await assert.rejects(
    get('org/tiny', 'onnx/model.onnx', {
      dest: path.join(cache, 'cancel', 'model.onnx'),
      signal: ac.signal,
      onProgress: () => ac.abort(),
    }),
    (e: Error) => e instanceof HubError && e.kind === 'cancelled',
  );
  assert.equal(fs.existsSync(path.join(cache, 'cancel', 'model.onnx')), false);
});

test('the graphs a repository offers: the whole model and its variants, else the encoder, else the merged decoder', async () => {
  const names = async (repo: string): Promise<string[]> => (await hubGraphs(hub.url, repo)).map((g) => g.graph);
  assert.deepEqual(await names('org/tiny'), ['onnx/model.onnx']);
  assert.deepEqual(await names('org/flat'), ['model.onnx', 'model_quantized.onnx']);
  assert.deepEqual(await names('org/t5'), ['onnx/encoder_model.onnx', 'onnx/encoder_model_quantized.onnx']);
  assert.deepEqual(await names('org/gpt'), ['onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged_fp16.onnx']);
  assert.deepEqual(await names('org/none'), []);
  // A repository with files but no graph exists; one with nothing does not.
  assert.equal(await hubRepoExists(hub.url, 'org/tiny'), false);
  assert.equal(await hubRepoExists(hub.url, 'org/docs'), true);
  assert.equal(await hubRepoExists(hub.url, 'org/none'), false);
});

test('every variant an LLM export names (fp16, q4, q4f16, uint8, bnb4) is offered with its size, external data split over several files included', async () => {
  const graphs = await hubGraphs(hub.url, 'org/llm');
  const byName = new Map(graphs.map((g) => [g.graph, g]));
  assert.deepEqual([...byName.keys()].sort(), [
    'onnx/model.onnx',
    'onnx/model_bnb4.onnx',
    'onnx/model_fp16.onnx',
    'onnx/model_q4.onnx',
    'onnx/model_q4f16.onnx',
    'onnx/model_uint8.onnx',
  ]);
  assert.deepEqual(byName.get('onnx/model.onnx'), {
    graph: 'onnx/model.onnx',
    externalData: ['onnx/model.onnx_data', 'onnx/model.onnx_data_1'],
    bytes: 6000,
  });
  assert.equal(byName.get('onnx/model_fp16.onnx')?.bytes, 3400);
  assert.equal(byName.get('onnx/model_q4.onnx')?.bytes, 1500);
  assert.equal(await hubText(hub.url, 'org/llm', 'config.json'), '{"num_hidden_layers":24,"num_attention_heads":14}');
  assert.equal(await hubText(hub.url, 'org/llm', 'nothing.json'), undefined);

  // The download brings every part of the external data beside the graph.
  const folder = path.join(cache, 'llm');
  const graph = await downloadHubModel({ endpoint: hub.url, repo: 'org/llm', graph: 'onnx/model.onnx', folder });
  assert.equal(graph, path.join(folder, 'onnx', 'model.onnx'));
  assert.equal(fs.statSync(path.join(folder, 'onnx', 'model.onnx_data')).size, 3000);
  assert.equal(fs.statSync(path.join(folder, 'onnx', 'model.onnx_data_1')).size, 2000);
  assert.ok(fs.existsSync(path.join(folder, 'config.json')));
});
