#!/usr/bin/env bash
# `npm test`: typecheck, lint (eslint, import boundaries and circles), build, engine/CLI/worker tests (node's
# runner), the benchmark in smoke mode (so it does not rot; it asserts nothing about speed), and the real-workbench
# tests (scripts/e2e.sh). The last line sums both test suites: "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
status=0
step() { echo "── $1"; }

# `npm ci` builds dist/ (the package's prepare script), so `npx woodfisher` works right after it, as the README says.
step "npx woodfisher after npm ci"
[ -f dist/cli.js ] || { echo "dist/cli.js missing after npm ci: the prepare script did not build"; exit 1; }
v=$(npx --no-install woodfisher --version) && [ "$v" = "$(node -p "require('./package.json').version")" ] || { echo "npx woodfisher --version printed '$v'"; exit 1; }

step "typecheck"; npx tsc -p tsconfig.json --noEmit || exit 1
step "lint"; npm run -s lint || exit 1
step "build"; node esbuild.mjs || exit 1
# Every VSIX (universal + five platforms) from this build: test/package/vsix.test.ts checks their contents, the
# workbench tests install the one for this platform.
step "VSIX packages"
export WOODFISHER_VSIX_DIR=$LOG/vsix
WOODFISHER_PREBUILT=1 bash scripts/package.sh --all "$WOODFISHER_VSIX_DIR" >"$LOG/vsce.txt" 2>&1 || { cat "$LOG/vsce.txt"; exit 1; }
grep -a 'DONE' "$LOG/vsce.txt"

step "unit, engine, CLI and worker tests"
npm run -s test:unit 2>&1 | tee "$LOG/unit.txt"   # node's runner; test/extension-pure holds the host's vscode-free helpers
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
unit_pass=$(grep -aE '^ℹ pass [0-9]+' "$LOG/unit.txt" | tail -1 | awk '{print $3}')
unit_fail=$(grep -aE '^ℹ fail [0-9]+' "$LOG/unit.txt" | tail -1 | awk '{print $3}')

step "benchmark, smoke mode"; node dist/bench.js --smoke || status=1

step "VS Code workbench tests"
bash scripts/e2e.sh 2>&1 | tee "$LOG/e2e.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
read -r e2e_pass e2e_fail < <(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$LOG/e2e.txt" | tail -1 | awk '{print $1, $3}')

passed=$(( ${unit_pass:-0} + ${e2e_pass:-0} ))
failed=$(( ${unit_fail:-1} + ${e2e_fail:-1} ))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1   # a step that failed without counting still fails
echo "unit: ${unit_pass:-?} passed, ${unit_fail:-?} failed · workbench: ${e2e_pass:-?} passed, ${e2e_fail:-?} failed"
echo "$passed passed, $failed failed"
exit $status
