#!/usr/bin/env bash
# Builds (or reuses) what the real-kubelet tier needs beyond the control plane
# (scripts/e2e/build.sh): the kubelet from the same pinned k8s.io/kubernetes
# module (scripts/e2e/gomod) and the local pause image's binary (./pause).
#
# The kubelet goes to $cache/kubelet-<key>/kubelet, key = hash of
# gomod/go.mod + go.sum (the same key as the control-plane bin-<key>, in its
# own directory so that cache stays valid). With the control plane already
# built the shared Go build cache makes this mostly a link; cold it takes
# ~20-40 min on a busy 2-core machine. Prints the directory (last line).
# Env: KUBETEE_E2E_CACHE, KUBETEE_E2E_BUILD_JOBS (as scripts/e2e/build.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mod_dir="$here/../gomod"
cache="${KUBETEE_E2E_CACHE:-${HOME:-/root}/.cache/kubetee-e2e}"

if ! command -v go >/dev/null 2>&1; then
  echo "e2e node build: the Go toolchain is required (go 1.26+)" >&2
  exit 2
fi

key="$(cat "$mod_dir/go.mod" "$mod_dir/go.sum" | sha256sum | cut -c1-16)"
pause_key="$(cat "$here/pause/go.mod" "$here/pause/main.go" | sha256sum | cut -c1-16)"
out="$cache/kubelet-$key"
mkdir -p "$out"

# The pause binary: a few lines of Go, static, rebuilt only when its source changes.
if [ ! -x "$out/pause-$pause_key" ]; then
  (cd "$here/pause" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
    go build -trimpath -ldflags "-s -w" -o "$out/pause-$pause_key.tmp" .)
  mv "$out/pause-$pause_key.tmp" "$out/pause-$pause_key"
fi
ln -sfn "pause-$pause_key" "$out/pause"

if [ -x "$out/kubelet" ]; then
  echo "e2e node build: reusing cached kubelet in $out" >&2
  echo "$out"
  exit 0
fi

k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$mod_dir/go.mod")"
[ -n "$k8s_version" ] || { echo "e2e node build: no k8s.io/kubernetes version in $mod_dir/go.mod" >&2; exit 2; }
minor="$(echo "$k8s_version" | cut -d. -f2)"
default_jobs=1
[ -n "${CI:-}" ] && default_jobs=2
jobs="${KUBETEE_E2E_BUILD_JOBS:-$default_jobs}"
# Stamped like the control plane (scripts/e2e/build.sh), so the node reports
# its real kubeletVersion; ldflags only change the link, not the shared compile cache.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done

echo "e2e node build: building kubelet $k8s_version with -p $jobs into $out" >&2
start=$(date +%s)
cd "$mod_dir"
# The kubelet resolves from the control plane's pins; -mod=readonly makes a
# missing go.sum line an error instead of a silent module graph change.
CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
  go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$out/kubelet.tmp" k8s.io/kubernetes/cmd/kubelet >&2
# Published atomically: an interrupted build is never taken for a complete one.
mv "$out/kubelet.tmp" "$out/kubelet"
echo "e2e node build: kubelet done in $(( $(date +%s) - start ))s" >&2
echo "$out"
