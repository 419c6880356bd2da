#!/usr/bin/env bash
# Stops the processes cluster-up.sh started (by the pids it recorded), newest
# first, each given 10 s before it is killed. Idempotent.
# Usage: cluster-down.sh STATE_DIR [--keep-state]
set -uo pipefail

state="${1:?usage: cluster-down.sh STATE_DIR [--keep-state]}"
[ -f "$state/pids" ] || exit 0

mapfile -t entries < <(tac "$state/pids")
# One at a time, newest first: the API server must still reach etcd while it shuts down.
for entry in "${entries[@]}"; do
  pid="${entry%% *}"
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "e2e cluster: ${entry#* } (pid $pid) did not stop within 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
done
: > "$state/pids"
if [ "${2:-}" != "--keep-state" ]; then
  rm -rf "$state/etcd"
fi
