#!/bin/sh
# One-shot (temporalio/admin-tools): waits for the Temporal server, then creates the
# namespace if missing. Closed workflows are kept NAMESPACE_RETENTION (the database keeps
# the dunning journal for good). Search attributes are registered by relance-setup.
set -eu
NS=${TEMPORAL_NAMESPACE:-default}
ADDR=${TEMPORAL_ADDRESS:-temporal:7233}
i=0
until temporal operator cluster health --address "$ADDR" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -ge 60 ] && { echo "Temporal at $ADDR not healthy after 60 tries"; exit 1; }
  sleep 2
done
if temporal operator namespace describe -n "$NS" --address "$ADDR" >/dev/null 2>&1; then
  echo "namespace $NS exists"
else
  temporal operator namespace create -n "$NS" --retention "${NAMESPACE_RETENTION:-30d}" --address "$ADDR"
  echo "namespace $NS created"
fi
