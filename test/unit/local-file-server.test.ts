/**
 * The extension host's local file server: what the panel's page may read from it (shared
 * folders, under their secret, with the headers a cross-origin page needs) and what it may not.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LocalFileServer, type FileShare } from '../../src/host/local-file-server';

let dir: string;
let server: LocalFileServer;
let share: FileShare;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-files-'));
  fs.mkdirSync(path.join(dir, 'model', 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'model', 'onnx', 'model.onnx'), Buffer.alloc(100_000, 7));
  fs.writeFileSync(path.join(dir, 'model', 'my tokenizer.json'), '{"a":1}');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'not shared');
  server = await LocalFileServer.start();
  share = server.share([path.join(dir, 'model')]);
});
after(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a shared file comes whole, with its length and the headers a page of another origin needs', async () => {
  const url = share.urlOf(path.join(dir, 'model', 'onnx', 'model.onnx')) ?? assert.fail('model.onnx is shared');
  assert.ok(url.startsWith('http://127.0.0.1:'), url);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), '100000');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.alloc(100_000, 7));
  const named = share.urlOf(path.join(dir, 'model', 'my tokenizer.json')) ?? assert.fail('the tokenizer is shared');
  assert.ok(named.endsWith('/my%20tokenizer.json'), named);
  assert.equal(await (await fetch(named)).text(), '{"a":1}');
  const head = await fetch(url, { method: 'HEAD' });
  assert.equal(head.headers.get('content-length'), '100000');
  const preflight = await fetch(url, { method: 'OPTIONS' });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-private-network'), 'true');
});

test('nothing outside a shared folder, nor under a wrong or revoked secret, nor by another method', async () => {
  assert.equal(share.urlOf(path.join(dir, 'secret.txt')), null);
  const folder = share.urlOf(path.join(dir, 'model'));
  assert.equal(folder, `${share.base}0`);
  const good = `${folder}/my%20tokenizer.json`;
  const refused = [
    `${folder}/../secret.txt`,
    `${folder}/%2e%2e/secret.txt`,
    `${folder}/..%2fsecret.txt`,
    `${folder}/onnx%2f..%2f..%2fsecret.txt`,
    `${folder}/onnx`,
    `${folder}/`,
    `${folder}/missing.json`,
    `${share.base}1/model.onnx`,
    `${server.origin}/${'0'.repeat(32)}/0/my%20tokenizer.json`,
    `${server.origin}/`,
  ];
  for (const url of refused) {
    // fetch() would resolve the ../ itself: sent as written.
    const res = await rawGet(url);
    assert.equal(res, 404, url);
  }
  assert.equal((await fetch(good, { method: 'POST' })).status, 404);
  assert.equal((await fetch(good)).status, 200);
  const other = server.share([path.join(dir, 'model')]);
  share.revoke();
  assert.equal((await fetch(good)).status, 404, 'revoked');
  assert.notEqual(other.base, share.base, 'each share has its own secret');
  assert.equal((await fetch(`${other.base}0/my%20tokenizer.json`)).status, 200, 'another share still answers');
});

/** The status of a GET with the path exactly as written. */
async function rawGet(url: string): Promise<number> {
  const http = await import('node:http');
  const u = new URL(url);
  const pathAsWritten = url.slice(u.origin.length);
  return new Promise((resolve, reject) => {
    http
      .get({ host: u.hostname, port: u.port, path: pathAsWritten }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}
