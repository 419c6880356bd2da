#!/usr/bin/env bash
# Builds the upstream binaries the real-cluster e2e suite needs (kube-apiserver,
# kube-scheduler, kube-controller-manager, etcd, kwok) from their Go modules at
# the versions pinned in scripts/e2e/gomod/go.mod, into a cache directory
# outside the repo. A complete cached set is reused; the cache key is a hash
# of go.mod + go.sum, so bumping a version rebuilds.
#
# Prints the directory holding the binaries on stdout (last line).
# Env: KUBETEE_E2E_CACHE (default $HOME/.cache/kubetee-e2e)
#      KUBETEE_E2E_BUILD_JOBS (go build -p; default 1 locally, 2 under CI)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mod_dir="$here/gomod"
cache="${KUBETEE_E2E_CACHE:-${HOME:-/root}/.cache/kubetee-e2e}"

if ! command -v go >/dev/null 2>&1; then
  echo "e2e build: the Go toolchain is required (go 1.26+) to build the upstream binaries" >&2
  exit 2
fi

key="$(cat "$mod_dir/go.mod" "$mod_dir/go.sum" | sha256sum | cut -c1-16)"
bin_dir="$cache/bin-$key"
binaries=(kube-apiserver kube-scheduler kube-controller-manager etcd kwok)

# kwok refuses to start without Stage objects. Take the upstream "fast" node
# and pod stages from the kwok module source (same pinned version) and join
# them into one --config file next to the binaries.
write_kwok_stages() {
  local kwok_dir out
  kwok_dir="$(cd "$mod_dir" && GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  if [ -z "$kwok_dir" ] || [ ! -d "$kwok_dir/kustomize/stage" ]; then
    (cd "$mod_dir" && go mod download sigs.k8s.io/kwok)
    kwok_dir="$(cd "$mod_dir" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  fi
  out="$1/kwok-stages.yaml"
  {
    # Options spelled out: zero values in a config file are not defaulted.
    printf 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n'
    printf '  %s\n' 'cidr: 10.244.0.0/16' 'podPlayStageParallelism: 4' 'nodePlayStageParallelism: 4' \
      'nodeLeaseParallelism: 4' 'podsOnNodeSyncParallelism: 1' \
      'nodeStatusUpdateFrequencyMilliseconds: 10000' 'nodeLeaseDurationSeconds: 40'
    for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf -- '---\n'
      cat "$kwok_dir/kustomize/stage/$f"
    done
  } > "$out.tmp"
  mv "$out.tmp" "$out"
}

complete=1
for b in "${binaries[@]}"; do
  [ -x "$bin_dir/$b" ] || complete=0
done
if [ "$complete" = 1 ]; then
  [ -s "$bin_dir/kwok-stages.yaml" ] || write_kwok_stages "$bin_dir"
  echo "e2e build: reusing cached binaries in $bin_dir" >&2
  echo "$bin_dir"
  exit 0
fi

k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$mod_dir/go.mod")"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' "$mod_dir/go.mod")"
if [ -z "$k8s_version" ] || [ -z "$etcd_version" ]; then
  echo "e2e build: could not read pinned versions from $mod_dir/go.mod" >&2
  exit 2
fi
minor="$(echo "$k8s_version" | cut -d. -f2)"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

default_jobs=1
[ -n "${CI:-}" ] && default_jobs=2
jobs="${KUBETEE_E2E_BUILD_JOBS:-$default_jobs}"

# Upstream stamps version info into both packages (hack/lib/version.sh); without
# it /version reports v0.0.0-master and client version checks look odd.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
ldflags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$etcd_version"

tmp_dir="$cache/tmp-$key-$$"
mkdir -p "$tmp_dir"
trap 'rm -rf "$tmp_dir"' EXIT

echo "e2e build: building Kubernetes $k8s_version, etcd $etcd_version and kwok with -p $jobs into $bin_dir (first build takes a while)" >&2
start=$(date +%s)
cd "$mod_dir"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$tmp_dir/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  sigs.k8s.io/kwok/cmd/kwok >&2
# etcd's main package is the module root; -o names the binary.
go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$tmp_dir/etcd" go.etcd.io/etcd/server/v3 >&2

for b in "${binaries[@]}"; do
  [ -x "$tmp_dir/$b" ] || { echo "e2e build: $b was not produced" >&2; exit 1; }
done
write_kwok_stages "$tmp_dir"
# Publish atomically so an interrupted build is never taken for a complete one.
rm -rf "$bin_dir"
mv "$tmp_dir" "$bin_dir"
trap - EXIT
echo "e2e build: done in $(( $(date +%s) - start ))s" >&2
echo "$bin_dir"
