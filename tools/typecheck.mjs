// `npm run typecheck`: each floor against its own environment (src/common and src/engine with
// neither Node nor the DOM, src/host with Node and vscode, webview with the DOM), then the tests
// and tools. A floor that reaches for what its environment lacks fails here.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let failed = 0;
for (const project of ['src/common', 'src/engine', 'src/host', 'webview', '.']) {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
  console.log(`${r.status === 0 ? 'ok  ' : 'FAIL'} ${project === '.' ? 'tests and tools' : project}`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
