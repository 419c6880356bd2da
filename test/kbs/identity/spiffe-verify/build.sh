#!/usr/bin/env bash
# Builds spiffe-verify (go-spiffe's X.509-SVID verification, test tooling) at the
# go-spiffe version pinned in go.mod/go.sum, into a cache outside the repo.
# A cached binary is reused; the cache key is a hash of go.mod, go.sum and main.go.
# Prints the binary's path on stdout (last line).
# Env: KUBETEE_SPIFFE_CACHE (default $HOME/.cache/kubetee-spiffe)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KUBETEE_SPIFFE_CACHE:-${HOME:-/root}/.cache/kubetee-spiffe}"
if ! command -v go >/dev/null 2>&1; then
  echo "spiffe-verify: the Go toolchain is required" >&2
  exit 2
fi
key="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-16)"
bin="$cache/spiffe-verify-$key"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  (cd "$here" && GOFLAGS=-mod=readonly go build -trimpath -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
