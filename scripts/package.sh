#!/usr/bin/env bash
# Builds VSIXs with vsce (no bypass flags; `vscode:prepublish` builds dist/). Usage:
#   scripts/package.sh [OUT.vsix] [--target PLATFORM]   one VSIX; no target: universal (Fisher products in plain JS)
#   scripts/package.sh --all OUTDIR                      the universal VSIX and one per platform below
#   scripts/package.sh --natives PLATFORM                the native files a platform's VSIX carries (none: plain JS)
# A platform VSIX carries onnxruntime-node's public JS and, for its platform, exactly the two native files the
# CPU products load (the binding and libonnxruntime): no source maps, no ESM build, no DirectML/DXC on Windows,
# one copy of the macOS dylib. The platforms and their files: src/engine/linalg/accel/platforms.json (read by the tests and e2e.sh
# too). darwin-x64 lists none: onnxruntime-node ships no Intel-macOS binary since 1.24, so that VSIX runs the
# products in plain JS and the panel says so. The platforms of src/engine/linalg/accel/openblas-platforms.json also
# carry this package's OpenBLAS addon (dist/native/woodfisher-linalg-PLATFORM.node, built by `npm run build:native`);
# packaging fails without it. Sizes: docs/packaging.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PLATFORMS <<<"$(node -p "Object.keys(require('./src/engine/linalg/accel/platforms.json')).join(' ')")"

# The native files each platform's CPU products need (onnxruntime_binding.node links the library beside it).
native_files() {
  node -e 'const p = require("./src/engine/linalg/accel/platforms.json"), t = process.argv[1];
    if (!p[t]) { console.error(`unknown target ${t} (one of: ${Object.keys(p).join(" ")})`); process.exit(1); }
    console.log(p[t].join(" "));' "$1"
}
if [ "${1:-}" = --natives ]; then native_files "${2:?usage: scripts/package.sh --natives PLATFORM}"; exit; fi

if [ "${1:-}" = --all ]; then
  dir=${2:?usage: scripts/package.sh --all OUTDIR}
  mkdir -p "$dir"
  node esbuild.mjs
  export WOODFISHER_PREBUILT=1          # one build for every package (vsce runs vscode:prepublish for each)
  bash "$0" "$dir/woodfisher.vsix"
  for t in "${PLATFORMS[@]}"; do bash "$0" "$dir/woodfisher-$t.vsix" --target "$t"; done
  exit 0
fi

OUT=woodfisher.vsix; TARGET=
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET=$2; shift 2 ;;
    *) OUT=$1; shift ;;
  esac
done

IGNORE=$(mktemp)
STAGE=dist/node_modules
trap 'rm -f "$IGNORE"; rm -rf "$STAGE"' EXIT
cp .vscodeignore "$IGNORE"
rm -rf "$STAGE"
ARGS=()
if [ -n "$TARGET" ]; then
  files=$(native_files "$TARGET")
  ARGS=(--target "$TARGET")
  if [ -n "$files" ]; then
    os=${TARGET%-*}; arch=${TARGET#*-}
    ort=node_modules/onnxruntime-node common=node_modules/onnxruntime-common
    bin=$ort/bin/napi-v6/$os/$arch
    # The bundles require onnxruntime-node at run time; Node finds dist/node_modules first.
    mkdir -p "$STAGE/onnxruntime-node/dist" "$STAGE/onnxruntime-node/bin/napi-v6/$os/$arch" "$STAGE/onnxruntime-common/dist/cjs"
    cp "$ort/package.json" "$STAGE/onnxruntime-node/"
    cp "$ort"/dist/*.js "$STAGE/onnxruntime-node/dist/"
    for f in $files; do cp "$bin/$f" "$STAGE/onnxruntime-node/bin/napi-v6/$os/$arch/" || { echo "no $f for $TARGET in $bin" >&2; exit 1; }; done
    cp "$common/package.json" "$STAGE/onnxruntime-common/"
    cp "$common"/dist/cjs/*.js "$common/dist/cjs/package.json" "$STAGE/onnxruntime-common/dist/cjs/"
    echo '!dist/node_modules/**' >>"$IGNORE"
  fi
fi
if [ -n "$TARGET" ] && node -e 'process.exit(require("./src/engine/linalg/accel/openblas-platforms.json").includes(process.argv[1]) ? 0 : 1)' "$TARGET"; then
  addon=dist/native/woodfisher-linalg-$TARGET.node
  [ -f "$addon" ] || { echo "$addon missing: the $TARGET VSIX carries the OpenBLAS addon (apt-get install libopenblas-dev, then npm run build:native)" >&2; exit 1; }
  echo "!$addon" >>"$IGNORE"
fi
mkdir -p "$(dirname "$OUT")"
npx vsce package --no-dependencies --ignoreFile "$IGNORE" "${ARGS[@]}" -o "$OUT" </dev/null
