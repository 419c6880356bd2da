#!/usr/bin/env bash
# Starts or stops the tier's one kubelet by its recorded pid (STATE/kubelet.pid),
# with the command line node-up.sh saved in STATE/kubelet.args. The node test
# suite calls it to restart the kubelet; node-down.sh to stop it first.
# Usage: kubelet.sh start|stop STATE_DIR
set -euo pipefail

cmd="${1:?usage: kubelet.sh start|stop STATE_DIR}"
state="${2:?usage: kubelet.sh start|stop STATE_DIR}"
pidfile="$state/kubelet.pid"

running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$cmd" in
  start)
    if running; then echo "e2e node: kubelet already running (pid $(cat "$pidfile"))" >&2; exit 1; fi
    mapfile -t args < "$state/kubelet.args"
    # Own session: a Ctrl+C in the terminal reaches the test runner, whose
    # cleanup stops the kubelet first, not the kubelet directly.
    # The pid is written by the process that then becomes the kubelet (exec).
    rm -f "$pidfile"
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "${args[@]}" >> "$state/logs/kubelet.log" 2>&1 < /dev/null &
    for _ in $(seq 1 40); do [ -s "$pidfile" ] && break; sleep 0.05; done
    echo "kubelet started (pid $(cat "$pidfile"))" >&2
    ;;
  stop)
    running || { rm -f "$pidfile"; exit 0; }
    pid="$(cat "$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "e2e node: kubelet (pid $pid) did not stop within 15 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -f "$pidfile"
    ;;
  *) echo "usage: kubelet.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
