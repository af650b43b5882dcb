#!/usr/bin/env bash
# End-to-end tests in a real VS Code workbench (code-server 4.99.4 + headless Debian chromium), offline:
#   install the workbench (first run only) → build → package the VSIX (--no-dependencies: esbuild bundles every
#   runtime dependency except vscode and the optional tfjs-node) → check its contents → install it into a fresh
#   extensions dir → start code-server on a free loopback port → UI test (test/e2e/ui.ts) → extension-host
#   integration tests (test/extension/**, bundled to dist/test/index.js) → kill the server's process group.
# Every run works on fresh copies of examples/ (never on examples/ itself) under .workbench/runs/.
# Env: E2E_SKIP_BUILD=1 (use the existing dist/), E2E_ONLY=ui|integration, E2E_KEEP=1 (keep the run dir),
#      E2E_THEME=<color theme> (screenshots in another theme), E2E_DEBUG=1 (browser console errors), WOODFISHER_TEST_GREP=<mocha grep> (passed to the extension host).
# Last line: "N passed, N failed" over both suites; exit status non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$(date +%s%N)
ts() { printf '[e2e %5.1fs] %s\n' "$(( ($(date +%s%N) - T0) / 1000000 ))e-3" "$*"; }
PASSED=0; FAILED=0; CSPID=; RUN=
fail_setup() { ts "SETUP FAILED: $*"; FAILED=$((FAILED + 1)); exit 1; }
cleanup() { # stop the server's whole process group (the extension host and worker too); summary as the last line
  if [ -n "$CSPID" ]; then
    kill -TERM -- -"$CSPID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- -"$CSPID" 2>/dev/null || break; sleep 0.3; done
    kill -KILL -- -"$CSPID" 2>/dev/null || true
  fi
  if [ -n "$RUN" ]; then
    if [ "${E2E_KEEP:-}" = 1 ] || [ "$FAILED" -gt 0 ]; then echo "run dir kept: $RUN (logs; screenshots in $ROOT/.workbench/artifacts)"; else rm -rf "$RUN"; fi
  fi
  echo "$PASSED passed, $FAILED failed"
}
trap cleanup EXIT
trap 'ts "e2e.sh stopped at line $LINENO: $BASH_COMMAND"; FAILED=$((FAILED + 1))' ERR
trap 'exit 130' INT TERM

ENTRY=$(bash scripts/install-workbench.sh | tail -1) || fail_setup "scripts/install-workbench.sh"
[ -f "$ENTRY" ] || fail_setup "no code-server entry at $ENTRY"
ts "workbench: $ENTRY"

if [ "${E2E_SKIP_BUILD:-}" != 1 ]; then
  npm run -s build || fail_setup "npm run build"
  ts "built"
fi
[ -f dist/extension.js ] || fail_setup "dist/extension.js missing (the extension did not build)"
[ -f dist/test/index.js ] || fail_setup "dist/test/index.js missing (test/extension/index.ts did not build)"

mkdir -p .workbench/runs .workbench/artifacts
# keep only the 3 most recent earlier runs (failed runs are kept for their logs)
{ ls -1dt .workbench/runs/run.* 2>/dev/null || true; } | tail -n +4 | xargs -r rm -rf
RUN=$(mktemp -d "$ROOT/.workbench/runs/run.XXXXXX")
ARTIFACTS=$ROOT/.workbench/artifacts
rm -f "$ARTIFACTS"/*.png

# --- package -------------------------------------------------------------------------------------------
VSIX=$RUN/woodfisher.vsix
# The platform VSIX where this platform has one (src/engine/linalg/accel/platforms.json), as users get it. What it must run on is
# decided by that list, never by the files found here: a platform that should carry onnxruntime-node's native
# products fails (packaging, or the prune tests' linalg check) when they are missing — it does not quietly test the
# universal VSIX instead.
PLATFORM=$(node -p 'process.platform + "-" + process.arch')
TARGET=(); EXPECT_LINALG=js
if natives=$(bash scripts/package.sh --natives "$PLATFORM" 2>/dev/null); then
  TARGET=(--target "$PLATFORM")
  if [ -n "$natives" ]; then EXPECT_LINALG=onnxruntime-f64; fi
  if node -e 'process.exit(require("./src/engine/linalg/accel/openblas-platforms.json").includes(process.argv[1]) ? 0 : 1)' "$PLATFORM"; then
    EXPECT_LINALG=openblas-f64   # its VSIX carries the OpenBLAS addon too, which the engine prefers
  fi
fi
PREBUILT=${WOODFISHER_VSIX_DIR:-}/woodfisher${TARGET:+-$PLATFORM}.vsix   # npm test packs every VSIX once, before this
if [ -n "${WOODFISHER_VSIX_DIR:-}" ] && [ -f "$PREBUILT" ]; then cp "$PREBUILT" "$VSIX"
else bash scripts/package.sh "$VSIX" "${TARGET[@]}" >"$RUN/vsce.log" 2>&1 || { cat "$RUN/vsce.log"; fail_setup "vsce package"; }
fi
unzip -Z1 "$VSIX" >"$RUN/vsix.txt"
bad=$(grep -E '^extension/(node_modules|src|test|\.workbench|bench)/' "$RUN/vsix.txt" | head -5 || true)   # full allow-list: test/package/vsix.test.ts
for need in extension/package.json extension/dist/extension.js extension/dist/worker.js; do
  grep -qx "$need" "$RUN/vsix.txt" || bad="$bad missing:$need"
done
grep -q '^extension/schemas/' "$RUN/vsix.txt" || bad="$bad missing:extension/schemas/"
grep -q '^extension/dist/wasm/.*\.wasm$' "$RUN/vsix.txt" || bad="$bad missing:extension/dist/wasm/*.wasm"
[ -z "$bad" ] || fail_setup "VSIX contents wrong: $bad (full list: $RUN/vsix.txt)"
ts "packaged $(basename "$VSIX") for ${PLATFORM}${TARGET:+ (platform VSIX)}: $(wc -l <"$RUN/vsix.txt") entries, $(du -k "$VSIX" | cut -f1) KB; Fisher products must run on $EXPECT_LINALG"

# --- a fresh user, extensions dir and workspace copies ---------------------------------------------------
mkdir -p "$RUN/ud/User" "$RUN/xdg/config" "$RUN/xdg/data" "$RUN/exts"
cat > "$RUN/ud/User/settings.json" <<'JSON'
{ "security.workspace.trust.enabled": false, "workbench.startupEditor": "none", "workbench.tips.enabled": false,
  "telemetry.telemetryLevel": "off", "extensions.autoCheckUpdates": false, "extensions.autoUpdate": false,
  "update.mode": "none", "chat.disableAIFeatures": true, "workbench.secondarySideBar.defaultVisibility": "hidden",
  "workbench.enableExperiments": false, "extensions.ignoreRecommendations": true, "git.enabled": false,
  "files.watcherExclude": { "**/_test-*/**": true } }
JSON
if [ -n "${E2E_THEME:-}" ]; then # e.g. E2E_THEME="Default Dark Modern" or "Default High Contrast": look at the screenshots
  node -e 'const f=process.argv[1], s=JSON.parse(require("fs").readFileSync(f,"utf8")); s["workbench.colorTheme"]=process.argv[2]; require("fs").writeFileSync(f, JSON.stringify(s))' "$RUN/ud/User/settings.json" "$E2E_THEME"
fi
export XDG_CONFIG_HOME=$RUN/xdg/config XDG_DATA_HOME=$RUN/xdg/data
cp -r examples "$RUN/ws-ui"
cp -r examples "$RUN/ws-integration"
node "$ENTRY" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/exts" --install-extension "$VSIX" >"$RUN/install.log" 2>&1 \
  || { cat "$RUN/install.log"; fail_setup "code-server --install-extension"; }
EXTDIR=$(ls -d "$RUN"/exts/woodfisher.woodfisher-* 2>/dev/null | head -1 || true)
[ -n "$EXTDIR" ] && [ -f "$EXTDIR/dist/extension.js" ] || fail_setup "the VSIX did not install ($(cat "$RUN/install.log"))"
ts "installed into $EXTDIR"

# --- server ----------------------------------------------------------------------------------------------
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# Variables meant for the extension host must be set on the server (the payload's extensionEnvironment does not reach it).
setsid env WOODFISHER_TEST_GREP="${WOODFISHER_TEST_GREP:-}" WOODFISHER_EXPECT_LINALG="$EXPECT_LINALG" node "$ENTRY" --auth none --bind-addr "127.0.0.1:$PORT" \
  --user-data-dir "$RUN/ud" --extensions-dir "$RUN/exts" --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override >"$RUN/code-server.log" 2>&1 &
CSPID=$!
for _ in $(seq 1 240); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break; sleep 0.25; done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" || { tail -20 "$RUN/code-server.log"; fail_setup "code-server did not start"; }
ts "code-server up on 127.0.0.1:$PORT (pgid $CSPID)"

# --- suites ----------------------------------------------------------------------------------------------
count() { # add a suite's WOODFISHER_RESULT line to the totals; a missing line counts as one failure
  local line; line=$(grep -a 'WOODFISHER_RESULT' "$1" | tail -1 || true)
  if [ -z "$line" ]; then FAILED=$((FAILED + 1)); return; fi
  PASSED=$((PASSED + $(sed -E 's/.*passed=([0-9]+).*/\1/' <<<"$line")))
  FAILED=$((FAILED + $(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")))
}
rc=0
if [ "${E2E_ONLY:-ui}" = ui ]; then
  ts "UI test (playwright + chromium)"
  E2E_ARTIFACTS=$ARTIFACTS node --import tsx test/e2e/ui.ts "http://127.0.0.1:$PORT" "$RUN/ws-ui" "$ARTIFACTS" 2>&1 | tee "$RUN/ui.log" || rc=1
  count "$RUN/ui.log"
fi
if [ "${E2E_ONLY:-integration}" = integration ]; then
  ts "integration tests in the extension host (mocha, dist/test/index.js, extension from the VSIX)"
  E2E_ARTIFACTS=$ARTIFACTS node --import tsx test/e2e/run-extension-tests.ts "http://127.0.0.1:$PORT" "$EXTDIR" "$ROOT/dist/test/index.js" "$RUN/ws-integration" 2>&1 | tee "$RUN/integration.log" || rc=1
  count "$RUN/integration.log"
fi
# Activation errors are only in the extension host's log: show them.
if grep -rhs -A4 'Activating extension woodfisher.woodfisher failed' "$RUN/ud/logs" >"$RUN/activation-errors.txt" && [ -s "$RUN/activation-errors.txt" ]; then
  ts "the extension FAILED TO ACTIVATE (from $RUN/ud/logs/*/exthost*/remoteexthost.log):"; sed 's/^/    /' "$RUN/activation-errors.txt" | head -20
fi
ts "done"
[ "$rc" = 0 ] && [ "$FAILED" = 0 ] || exit 1
exit 0
