#!/usr/bin/env bash
# Try the extension in a local browser-based VS Code (the code-server the e2e tests use), without touching
# your own editor: installs the workbench if needed, builds + packages + installs the VSIX into a private
# extensions dir (.workbench/user/), opens examples/ on 127.0.0.1 and prints the URL. Ctrl-C stops it.
# Env: PORT (default: a free port), HOST (default 127.0.0.1), FOLDER (default: <repo>/examples).
# Note: runs started from the panel write their output beside the model's folder (e.g. examples/mlpnet-pruned/).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ENTRY=$(bash scripts/install-workbench.sh | tail -1)
npm run -s build
STATE=$ROOT/.workbench/user
mkdir -p "$STATE/ud/User" "$STATE/exts" "$STATE/xdg/config" "$STATE/xdg/data"
[ -f "$STATE/ud/User/settings.json" ] || cat > "$STATE/ud/User/settings.json" <<'JSON'
{ "security.workspace.trust.enabled": false, "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false, "extensions.autoUpdate": false, "update.mode": "none" }
JSON
VSIX=$ROOT/.workbench/woodfisher.vsix
PLATFORM=$(node -p 'process.platform + "-" + process.arch')
# The VSIX a user of this platform gets (src/engine/linalg/accel/platforms.json); the universal one where there is none.
TARGET=(); bash scripts/package.sh --natives "$PLATFORM" >/dev/null 2>&1 && TARGET=(--target "$PLATFORM")
bash scripts/package.sh "$VSIX" "${TARGET[@]}" >"$ROOT/.workbench/vsce.log" 2>&1 || { cat "$ROOT/.workbench/vsce.log"; exit 1; }
export XDG_CONFIG_HOME=$STATE/xdg/config XDG_DATA_HOME=$STATE/xdg/data
node "$ENTRY" --user-data-dir "$STATE/ud" --extensions-dir "$STATE/exts" --install-extension "$VSIX" --force >/dev/null
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
FOLDER=$(cd "${FOLDER:-$ROOT/examples}" && pwd)
setsid node "$ENTRY" --auth none --bind-addr "$HOST:$PORT" --user-data-dir "$STATE/ud" --extensions-dir "$STATE/exts" \
  --disable-telemetry --disable-update-check --disable-workspace-trust "$FOLDER" >"$STATE/code-server.log" 2>&1 &
CSPID=$!
trap 'kill -TERM -- -$CSPID 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 240); do curl -fsS -o /dev/null "http://$HOST:$PORT/healthz" 2>/dev/null && break; sleep 0.25; done
curl -fsS -o /dev/null "http://$HOST:$PORT/healthz" || { tail -20 "$STATE/code-server.log"; exit 1; }
echo
echo "  WoodFisher workbench: http://$HOST:$PORT/?folder=$FOLDER"
echo "  Right-click mlpnet/model.json → Prune with WoodFisher.   Log: $STATE/code-server.log   Ctrl-C to stop."
echo
wait "$CSPID"
