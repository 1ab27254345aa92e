#!/bin/sh
# Entrypoint of the relance image.
#   setup    apply database migrations, then register the search attributes on TEMPORAL_NAMESPACE
#            (both idempotent: safe on every deploy, one-shot before api/worker start)
#   api      the REST API (graceful on SIGTERM: drains in-flight requests, API_SHUTDOWN_TIMEOUT_MS)
#   worker   the Temporal worker, the task queues of WORKER_ROLES (graceful on SIGTERM: drains
#            in-flight activities, WORKER_SHUTDOWN_GRACE_MS)
#   anything else is run as given (e.g. `npm run relance -- api-key create ops --role collector`)
# api and worker are exec'd so that they, not a shell, receive the container's SIGTERM. They run
# the compiled dist/ (npm run build:dist). The worker caps V8's young generation
# (--max-semi-space-size=2, MB): ~35-65 MB less RSS for a worker holding cached workflows,
# at the cost of more frequent minor GCs, and caps its old generation by its workflow cache
# (worker/heap.ts: 128 MB + 0.5 MB per cached workflow, or WORKER_HEAP_MB) so that V8
# collects evicted workflow runs instead of growing (docs/benchmarks.md, sleeping invoices).
# The command line wins over NODE_OPTIONS, so change the values here or with WORKER_HEAP_MB.
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
  setup)
    npm run --silent db:migrate
    npm run --silent setup:search-attributes
    ;;
  api)
    exec node dist/api.mjs
    ;;
  worker)
    heap_mb="${WORKER_HEAP_MB:-$((128 + ${WORKFLOW_CACHE_SIZE:-250} / 2))}"
    exec node --max-semi-space-size=2 --max-old-space-size="$heap_mb" dist/worker.mjs
    ;;
  "")
    echo "usage: entrypoint.sh setup|api|worker|<command>" >&2
    exit 2
    ;;
  *)
    exec "$@"
    ;;
esac
