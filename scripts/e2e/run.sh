#!/usr/bin/env bash
# `npm run test:e2e`: builds (or reuses) the upstream binaries, starts a
# loopback control plane, runs test/e2e/*.test.ts against it and always tears
# it down again, also on failure or Ctrl+C.
# Env: KUBETEE_E2E_CACHE (binary cache), KUBETEE_E2E_KEEP=1 (keep logs/state dir).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
bin_dir="$(scripts/e2e/build.sh | tail -n 1)"
state="$(mktemp -d "${TMPDIR:-/tmp}/kubetee-e2e.XXXXXX")"

cleanup() {
  local rc=$?
  scripts/e2e/cluster-down.sh "$state" || true
  if [ "$rc" -ne 0 ]; then
    echo "e2e: failed (exit $rc); control-plane logs:" >&2
    for f in "$state"/logs/*.log; do
      [ -f "$f" ] || continue
      echo "--- $(basename "$f") (last 15 lines)" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ "${KUBETEE_E2E_KEEP:-}" = 1 ]; then echo "e2e: state kept in $state" >&2; else rm -rf "$state"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
kubeconfig="$(scripts/e2e/cluster-up.sh "$bin_dir" "$state")"
echo "e2e: control plane up in $(( $(date +%s) - start ))s ($kubeconfig)"

# The suite must finish well inside 10 minutes; timeout bounds a hang.
KUBETEE_E2E_KUBECONFIG="$kubeconfig" KUBETEE_E2E_STATE="$state" \
  timeout --signal=TERM --kill-after=20 540 \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec test/e2e/*.test.ts
