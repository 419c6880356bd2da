#!/usr/bin/env bash
# Builds the Go parts of `npm run bench deviceplugin` into a cache outside the
# repo (they are test tooling, never product code):
#   sgx_plugin  Intel's SGX device plugin, intel-device-plugins-for-kubernetes
#               $INTEL_VERSION, fetched through the Go module proxy with
#               `go mod download` (checksum-verified) and built unmodified with
#               its own go.mod / go.sum.
#   dp-harness  bench/deviceplugin/harness: a kubelet stand-in written on the
#               upstream k8s.io/kubelet deviceplugin/v1beta1 client types.
# A complete cached set is reused; the key hashes the harness sources and the
# Intel version, so editing either rebuilds. Prints the binary directory on
# stdout (last line). Env: KUBETEE_BENCH_CACHE (default $HOME/.cache/kubetee-bench).
set -euo pipefail

INTEL_MODULE=github.com/intel/intel-device-plugins-for-kubernetes
INTEL_VERSION=v0.27.1

here="$(cd "$(dirname "$0")" && pwd)"
cache="${KUBETEE_BENCH_CACHE:-${HOME:-/root}/.cache/kubetee-bench}"
if ! command -v go >/dev/null 2>&1; then
  echo "bench build: the Go toolchain is required to build the device-plugin harness and Intel's plugin" >&2
  exit 2
fi

key="$( (echo "$INTEL_MODULE@$INTEL_VERSION"; cat "$here/harness/go.mod" "$here/harness/go.sum" "$here"/harness/*.go) | sha256sum | cut -c1-16)"
bin_dir="$cache/deviceplugin-$key"
if [ -x "$bin_dir/sgx_plugin" ] && [ -x "$bin_dir/dp-harness" ]; then
  echo "bench build: reusing $bin_dir" >&2
  echo "$bin_dir"
  exit 0
fi

tmp="$cache/tmp-deviceplugin-$key-$$"
mkdir -p "$tmp"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
start=$(date +%s)

# Intel's plugin: the module as published, built in a writable copy of its
# source (the module cache is read-only) with its own pinned dependencies.
echo "bench build: fetching $INTEL_MODULE@$INTEL_VERSION" >&2
src="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$INTEL_MODULE@$INTEL_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$src" ] || [ ! -f "$src/cmd/sgx_plugin/sgx_plugin.go" ]; then
  echo "bench build: could not download $INTEL_MODULE@$INTEL_VERSION" >&2
  exit 1
fi
cp -r "$src" "$tmp/intel-src"
chmod -R u+w "$tmp/intel-src"
echo "bench build: building sgx_plugin (first build takes a few minutes)" >&2
(cd "$tmp/intel-src" && go build -trimpath -ldflags "-s -w" -o "$tmp/out/sgx_plugin" ./cmd/sgx_plugin) >&2

echo "bench build: building dp-harness" >&2
(cd "$here/harness" && go build -trimpath -ldflags "-s -w" -o "$tmp/out/dp-harness" .) >&2

rm -rf "$bin_dir"
mv "$tmp/out" "$bin_dir"
echo "bench build: done in $(( $(date +%s) - start ))s" >&2
echo "$bin_dir"
