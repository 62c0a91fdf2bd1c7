// The one test command (`npm test`): builds, type-checks, provisions what the tests need
// (Chromium through apt where it can, Node 24 + code-server into .tools/), packages the .vsix,
// then runs every test — unit (Node), engine (headless Chromium), end-to-end (real VS Code) —
// in one node:test run.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let current = '';
const run = (cmd, args, opts = {}) => {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  } catch {
    // The step printed its own errors above: name the step, no stack trace.
    console.error(
      `\nnpm test stopped: "${current}" failed (see above).${current.startsWith('lint') ? ' `npm run format` fixes what it can.' : ''}`,
    );
    process.exit(1);
  }
};
const step = (msg) => {
  current = msg;
  console.log(`\n== ${msg}`);
};

function findChromium() {
  if (process.env.CHROME_PATH) {
    if (!fs.existsSync(process.env.CHROME_PATH))
      throw new Error(`CHROME_PATH=${process.env.CHROME_PATH} does not exist`);
    return process.env.CHROME_PATH;
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'])
    if (fs.existsSync(p)) return p;
  if (process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    step('installing Chromium with apt-get');
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
    const r = spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status === 0 && fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  }
  console.error(
    '\nThe engine and end-to-end tests need Chromium. Install it (Debian: apt-get install chromium),\n' +
      'or set CHROME_PATH to a Chromium or Chrome binary, then run npm test again.',
  );
  process.exit(1);
}

step('build');
run(process.execPath, ['tools/build.mjs']);
step('type-check, each floor in its own environment');
run(process.execPath, ['tools/typecheck.mjs']);
step('lint (ESLint, Prettier, unused exports)');
run('npm', ['run', '--silent', 'lint']);
const chrome = findChromium();
console.log(`Chromium: ${chrome}`);
const withE2e = process.env.ATTENTION_EXPLORER_SKIP_E2E !== '1';
if (withE2e) {
  step('provision Node 24 and code-server');
  run('bash', ['tools/provision-code-server.sh']);
  step('package the .vsix');
  run('npm', ['run', '--silent', 'package']);
}
step('tests');
const files = [];
for (const dir of ['unit', 'engine', ...(withE2e ? ['e2e'] : [])]) {
  const d = path.join(root, 'dist', 'test', dir);
  if (fs.existsSync(d))
    for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.test.js')) files.push(path.join(d, f));
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CHROME_PATH: chrome },
});
process.exit(r.status ?? 1);
