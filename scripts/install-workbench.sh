#!/usr/bin/env bash
# Install a real VS Code workbench for the e2e tests, using only the npm registry and Debian packages:
# code-server 4.99.4 (= VS Code 1.99.3, runs on Node 20) into .workbench/ (gitignored), Debian chromium + rg.
# Idempotent: a second run does nothing but print the entry path.
# Usage: bash scripts/install-workbench.sh [DIR]      (default: <repo>/.workbench)
# Last line of stdout: the absolute path of code-server's entry script.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-${WORKBENCH_DIR:-$ROOT/.workbench}}
CS_VERSION=4.99.4
PW_VERSION=$(node -p "try{require('$ROOT/node_modules/playwright-core/package.json').version}catch{'1.56'}" 2>/dev/null || echo 1.56)
log() { echo "[install-workbench] $*" >&2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# 1. Debian packages: chromium (the browser playwright drives), rg (VS Code's search), headers for the
#    native modules of VS Code's server (kerberos, native-keymap/xkbfile, keytar/libsecret, x11).
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
[ -e /usr/include/libsecret-1/libsecret/secret.h ] || need+=(libsecret-1-dev)
[ -e /usr/include/X11/extensions/XKBfile.h ] || need+=(libxkbfile-dev)
[ -e /usr/include/X11/Xlib.h ] || need+=(libx11-dev)
command -v make >/dev/null && command -v g++ >/dev/null && command -v python3 >/dev/null || need+=(build-essential python3)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "missing Debian packages: ${need[*]} (run as root or apt-get install them)"; exit 1; }
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. code-server (+ playwright-core, unless the project already has it) from npm, without install
#    scripts: code-server's postinstall downloads ripgrep from GitHub, which is not reachable here.
cd "$DIR"
[ -f package.json ] || printf '{ "name": "woodfisher-workbench", "private": true }\n' > package.json
pkgs=()
[ -f node_modules/code-server/out/node/entry.js ] || pkgs+=("code-server@$CS_VERSION")
( cd "$ROOT" && node -e "require.resolve('playwright-core')" ) 2>/dev/null || [ -d node_modules/playwright-core ] || pkgs+=("playwright-core@$PW_VERSION")
if [ ${#pkgs[@]} -gt 0 ]; then
  log "npm install --ignore-scripts ${pkgs[*]} (about a minute)"
  npm_config_unsafe_perm=true npm install --no-audit --no-fund --ignore-scripts "${pkgs[@]}" >"$DIR/npm-install.log" 2>&1 \
    || { tail -20 "$DIR/npm-install.log" >&2; exit 1; }
fi

# 3. VS Code server's own dependencies and native modules, built against this Node; Debian's rg in place
#    of @vscode/ripgrep's download.
CS=$DIR/node_modules/code-server
if [ ! -e "$CS/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ] || [ ! -x "$CS/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; then
  log "building VS Code server native modules"
  (
    cd "$CS/lib/vscode"
    npm_config_unsafe_perm=true npm install --no-audit --no-fund --unsafe-perm --omit=dev --ignore-scripts >"$DIR/npm-vscode.log" 2>&1
    mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
    mods=$(for d in node_modules/* node_modules/@*/*; do [ -f "$d/binding.gyp" ] && echo "${d#node_modules/}"; done | grep -v ripgrep | grep -v windows || true)
    # shellcheck disable=SC2086
    npm_config_yes=true npm rebuild --unsafe-perm $mods >>"$DIR/npm-vscode.log" 2>&1
    ln -sfn node_modules node_modules.asar
    [ -e bin/remote-cli/code-server ] || ln -sfn code-linux.sh bin/remote-cli/code-server
  ) || { tail -30 "$DIR/npm-vscode.log" >&2; exit 1; }
  (cd "$DIR" && npm_config_yes=true npm rebuild argon2 >>"$DIR/npm-vscode.log" 2>&1) || log "argon2 rebuild failed (only needed for password auth)"
fi
[ -e "$CS/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ] || { log "native build incomplete, see $DIR/npm-vscode.log"; exit 1; }
echo "$CS/out/node/entry.js"
