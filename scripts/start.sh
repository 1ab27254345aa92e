#!/usr/bin/env bash
# `npm start`: install what is missing, then run the whole system (tools/dev.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node --import tsx tools/dev.ts "$@"
