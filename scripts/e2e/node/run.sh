#!/usr/bin/env bash
# `npm run test:e2e:node`: the real-kubelet tier. Builds (or reuses) the
# control-plane binaries and the kubelet, starts a loopback control plane,
# containerd and one real kubelet (node-up.sh), runs test/e2e/node/*.test.ts
# against it and always tears everything down (node-down.sh), also on failure
# or Ctrl+C. Needs root. Prints the time of every phase.
# Env: KUBETEE_E2E_CACHE (binary cache), KUBETEE_E2E_KEEP=1 (keep logs/state dir).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$repo"
t0=$(date +%s)
phase() { echo "e2e node: $1 ($(( $(date +%s) - t0 ))s since start)"; }

bin_dir="$(scripts/e2e/build.sh | tail -n 1)"
node_bin="$(scripts/e2e/node/build.sh | tail -n 1)"
phase "binaries ready"
# The local kubetee image is this checkout's dist: rebuilt when a source is newer.
if [ ! -f dist/cli/run.js ] || [ -n "$(find src proto package.json -newer dist/cli/run.js -print -quit)" ]; then
  npm run --silent build
  phase "dist built"
fi

state="$(mktemp -d "${TMPDIR:-/tmp}/kubetee-e2e-node.XXXXXX")"
tests_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Teardown must run to the end whatever fails in it (errexit would end it at the first non-zero status).
  set +e
  # On Ctrl+C the test runner (started in the background, so it ignores SIGINT) stops first.
  if [ -n "$tests_pid" ] && kill -0 "$tests_pid" 2>/dev/null; then
    kill -TERM "$tests_pid" 2>/dev/null
    wait "$tests_pid" 2>/dev/null
  fi
  local down_start
  down_start=$(date +%s)
  scripts/e2e/node/node-down.sh "$state" || { [ "$rc" -eq 0 ] && rc=1; }
  echo "e2e node: teardown took $(( $(date +%s) - down_start ))s"
  if [ "$rc" -ne 0 ]; then
    echo "e2e node: failed (exit $rc); logs:" >&2
    for f in "$state"/logs/*.log; do
      [ -f "$f" ] || continue
      echo "--- $(basename "$f") (last 20 lines)" >&2
      tail -n 20 "$f" >&2
    done
  fi
  if [ "${KUBETEE_E2E_KEEP:-}" = 1 ]; then echo "e2e node: state kept in $state" >&2; else rm -rf "$state"; fi
  phase "done (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kubeconfig="$(scripts/e2e/node/node-up.sh "$bin_dir" "$node_bin" "$state")"
phase "cluster with a real kubelet up"

# timeout bounds a hang; the suite itself takes a few minutes. In the
# background with `wait`, so a Ctrl+C runs the trap at once (bash defers traps
# while a foreground child runs, and timeout keeps its child out of the
# terminal's process group).
KUBETEE_E2E_KUBECONFIG="$kubeconfig" KUBETEE_E2E_STATE="$state" KUBETEE_E2E_NODE_SCRIPTS="$repo/scripts/e2e/node" \
  timeout --signal=TERM --kill-after=20 900 \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec test/e2e/node/*.test.ts &
tests_pid=$!
wait "$tests_pid"
tests_pid=""
phase "tests passed"
