#!/usr/bin/env bash
# Runs the test suite (`npm test`, or the test files/folders given as
# arguments) while one busy-loop process per CPU core keeps the machine
# saturated, to prove the tests wait for conditions and not for fixed times.
# The hogs run at normal priority and are stopped by pid on exit, Ctrl+C
# included. Usage:
#   scripts/test-under-load.sh                 # npm test under load
#   scripts/test-under-load.sh test/up test/cli  # only these, under load
#   KUBETEE_LOAD_HOGS=4 scripts/test-under-load.sh   # more hogs than cores
set -euo pipefail
cd "$(dirname "$0")/.."

hogs="${KUBETEE_LOAD_HOGS:-$(nproc)}"
pids=()
# shellcheck disable=SC2317  # called through the trap
stop_hogs() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT INT TERM

for _ in $(seq 1 "$hogs"); do
  node -e 'for (;;) {}' &
  pids+=("$!")
done
echo "test-under-load: ${hogs} CPU hog(s) running (pids ${pids[*]}); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

start=$(date +%s)
status=0
if [ "$#" -gt 0 ]; then
  node scripts/run-tests.mjs "$@" || status=$?
else
  npm test || status=$?
fi
echo "test-under-load: finished in $(( $(date +%s) - start )) s with status ${status}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
