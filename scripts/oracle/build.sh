#!/usr/bin/env bash
# Builds the attestation oracle: Phala's dcap-qvl Rust crate (pinned in
# test/oracle/Cargo.toml and Cargo.lock) with our small runner, into a cache
# outside the repo. A cached binary is reused; the cache key is a hash of the
# runner's sources and lock file, so bumping dcap-qvl rebuilds.
#
# Prints the path of the oracle binary on stdout (last line); the benchmark
# runner (test/oracle/src/bin/kubetee-qvl-bench.rs, used by `npm run bench
# attest`) is built next to it as kubetee-qvl-bench.
# Env: KUBETEE_ORACLE_CACHE (default $HOME/.cache/kubetee-oracle)
#      KUBETEE_ORACLE_NO_BUILD=1: only report a cached binary (exit 3 when there is none)
#      KUBETEE_ORACLE_BUILD_JOBS (cargo -j; default 1 locally, 2 under CI)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src_dir="$(cd "$here/../../test/oracle" && pwd)"
cache="${KUBETEE_ORACLE_CACHE:-${HOME:-/root}/.cache/kubetee-oracle}"

key="$(cat "$src_dir/Cargo.toml" "$src_dir/Cargo.lock" "$src_dir/src/main.rs" "$src_dir"/src/bin/*.rs | sha256sum | cut -c1-16)"
bin="$cache/bin-$key/kubetee-qvl-oracle"
bench="$cache/bin-$key/kubetee-qvl-bench"
if [ -x "$bin" ] && [ -x "$bench" ]; then
  echo "oracle build: reusing $bin" >&2
  echo "$bin"
  exit 0
fi

if [ -n "${KUBETEE_ORACLE_NO_BUILD:-}" ]; then
  echo "oracle build: no cached binary at $bin (run scripts/oracle/build.sh)" >&2
  exit 3
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "oracle build: the Rust toolchain (cargo) is required to build the dcap-qvl oracle" >&2
  exit 2
fi

default_jobs=1
[ -n "${CI:-}" ] && default_jobs=2
jobs="${KUBETEE_ORACLE_BUILD_JOBS:-$default_jobs}"

echo "oracle build: cargo build (dcap-qvl, -j $jobs) into $cache/target" >&2
CARGO_TARGET_DIR="$cache/target" cargo build --release --locked -j "$jobs" \
  --manifest-path "$src_dir/Cargo.toml" >&2
mkdir -p "$(dirname "$bin")"
cp "$cache/target/release/kubetee-qvl-bench" "$bench.tmp"
mv "$bench.tmp" "$bench"
cp "$cache/target/release/kubetee-qvl-oracle" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
