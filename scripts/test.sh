#!/usr/bin/env bash
# `npm test`: install what is missing, type-check, lint, then the whole vitest suite.
# Writes test-results/vitest.json and ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
mkdir -p test-results
status=0
echo "[test] tsc --noEmit"
npx tsc --noEmit || status=1
echo "[test] eslint"
npx eslint . --max-warnings=0 || status=1
echo "[test] vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=1
node scripts/test-summary.mjs test-results/vitest.json || status=1
exit $status
