#!/usr/bin/env bash
# Tears down everything node-up.sh started or created, also after a failed or
# interrupted run, and is idempotent. Order matters: the kubelet first (so it
# restarts nothing), then every container task, then containerd and the shims
# it started, then the control plane; then mounts, cgroups, network namespaces,
# the bridge and the files under /var/lib/kubelet. Processes are stopped only
# by recorded pid (or, for containerd's shims, by their command line naming
# this run's own containerd socket).
# Usage: node-down.sh STATE_DIR
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
state="${1:?usage: node-down.sh STATE_DIR}"
[ -d "$state" ] || exit 0
changes="$state/host-changes"
touch "$changes"
ctrd="$state/containerd"
sock="$ctrd/containerd.sock"
left=()

stop_pid() { # pid name
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  echo "e2e node: $2 (pid $pid) did not stop within 10 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
}

# 1. kubelet
"$here/kubelet.sh" stop "$state"

# 2. container tasks (SIGKILL: the kubelet that would stop them gracefully is gone)
if [ -s "$state/containerd.pid" ] && kill -0 "$(cat "$state/containerd.pid")" 2>/dev/null; then
  c=(ctr --address "$sock" -n k8s.io)
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    for _ in $(seq 1 20); do "${c[@]}" tasks delete "$id" >/dev/null 2>&1 && break; sleep 0.25; done
  done
  for id in $("${c[@]}" containers ls -q 2>/dev/null); do "${c[@]}" containers rm "$id" >/dev/null 2>&1 || true; done
fi

# 3. containerd, then any shim of this containerd still alive (a shim names
#    its containerd's socket in its arguments; nothing else has this path)
[ -s "$state/containerd.pid" ] && stop_pid "$(cat "$state/containerd.pid")" containerd
rm -f "$state/containerd.pid"
for p in /proc/[0-9]*; do
  cmdline="$( (tr '\0' ' ' < "$p/cmdline") 2>/dev/null)" || continue
  case "$cmdline" in
    *containerd-shim*"$sock"*) stop_pid "${p#/proc/}" "containerd shim" ;;
  esac
done

# 4. control plane (recorded pids, newest first)
"$here/../cluster-down.sh" "$state" --keep-state

# 5. mounts under this run's directories (kubelet's self-bind of --root-dir,
#    pod volumes, overlay rootfs, sandbox shm), deepest first
umount_under() { # prefix
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "e2e node: could not unmount $m" >&2
  done
}
umount_under "$state"
umount_under /run/containerd/io.containerd.runtime.v2.task/k8s.io
umount_under /run/containerd/io.containerd.grpc.v1.cri

# 6. network namespaces containerd created during this run
if [ -d /var/run/netns ]; then
  for ns in /var/run/netns/*; do
    [ -e "$ns" ] || continue
    grep -qx "netns-before $(basename "$ns")" "$changes" && continue
    umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null || true
    rm -f "$ns"
  done
fi

# 7. cgroups the kubelet and runc created (kubepods in every v1 hierarchy, and
#    the unified one), deepest first; a pod's cgroup empties once its tasks died
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$root" ] || continue
  for _ in $(seq 1 20); do
    find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$root" ] || break
    sleep 0.25
  done
  [ -d "$root" ] && left+=("cgroup $root")
done

# 8. the bridge, and what the kubelet and containerd wrote outside STATE
if grep -q "^bridge " "$changes"; then
  br="$(awk '$1 == "bridge" { print $2; exit }' "$changes")"
  ip link del "$br" 2>/dev/null || true
fi
rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint \
      /var/lib/kubelet/device-plugins/DEPRECATION /var/lib/kubelet/pod-resources/kubelet.sock
if [ -d /var/log/containers ]; then
  for l in /var/log/containers/*; do
    case "$(readlink "$l" 2>/dev/null)" in "$state"/*) rm -f "$l" ;; esac
  done
fi
# Directories that did not exist before this run, removed whole (deepest first).
while read -r kind dir; do
  [ "$kind" = created-dir ] || continue
  umount_under "$dir"
  rm -rf "$dir" 2>/dev/null || left+=("$dir")
done < <(tac "$changes")

if [ "${#left[@]}" -gt 0 ]; then
  echo "e2e node: teardown left behind: ${left[*]}" >&2
  exit 1
fi
exit 0
