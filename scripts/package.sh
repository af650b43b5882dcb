#!/usr/bin/env bash
# Builds the VSIX. Usage: scripts/package.sh [OUT.vsix] [--target PLATFORM]
#   no target: a universal VSIX (the Fisher math's products run in plain JS);
#   --target linux-x64 (or darwin-arm64, win32-x64 …): adds onnxruntime-node's native library for that platform,
#   so the worker multiplies matrices natively (see docs/performance.md). Assumes `npm run build` has run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=woodfisher.vsix; TARGET=
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET=$2; shift 2 ;;
    *) OUT=$1; shift ;;
  esac
done
IGNORE=$(mktemp)
trap 'rm -f "$IGNORE"; rm -rf dist/node_modules' EXIT
cp .vscodeignore "$IGNORE"
ARGS=()
STAGE=dist/node_modules
rm -rf "$STAGE"
if [ -n "$TARGET" ]; then
  os=${TARGET%-*}; arch=${TARGET#*-}
  bin=node_modules/onnxruntime-node/bin/napi-v6/$os/$arch
  [ -d "$bin" ] || { echo "no onnxruntime-node binary for $TARGET" >&2; exit 1; }
  # The bundles load onnxruntime-node with a runtime require, which finds dist/node_modules first.
  mkdir -p "$STAGE/onnxruntime-node/bin/napi-v6/$os" "$STAGE/onnxruntime-common"
  cp -r node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist "$STAGE/onnxruntime-node/"
  cp -r "$bin" "$STAGE/onnxruntime-node/bin/napi-v6/$os/"
  cp -r node_modules/onnxruntime-common/package.json node_modules/onnxruntime-common/dist "$STAGE/onnxruntime-common/"
  echo '!dist/node_modules/**' >>"$IGNORE"
  ARGS=(--target "$TARGET")
fi
npx vsce package --no-dependencies --allow-missing-repository --no-rewrite-relative-links \
  --ignoreFile "$IGNORE" "${ARGS[@]}" -o "$OUT" </dev/null
