#!/usr/bin/env bash
# Writes the single layer of a local kubetee image as a tar, straight from the
# sources (no unpacked copy: writing tens of thousands of small files is slow
# on a busy machine): the host's node binary and the shared libraries ldd
# lists, at their host paths, and this checkout's package.json, bin, dist,
# proto and production node_modules under /app. Needs `npm run build` first.
# Usage: kubetee-layer.sh REPO_DIR OUT_TAR
set -euo pipefail

repo="$(cd "${1:?usage: kubetee-layer.sh REPO_DIR OUT_TAR}" && pwd)"
out="${2:?usage: kubetee-layer.sh REPO_DIR OUT_TAR}"
[ -f "$repo/dist/cli/run.js" ] || { echo "kubetee image: $repo/dist is missing; run npm run build" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/kubetee-layer.XXXXXX")"
trap 'rm -rf "$work"' EXIT
t=(tar --owner=0 --group=0 --numeric-owner)

# Skeleton: mount points, a nobody user for runAsUser 65532.
mkdir -p "$work/skel"/{app,dev,proc,sys,etc,tmp,var/run,usr/bin}
chmod 1777 "$work/skel/tmp"
printf 'nobody:x:65532:65532:nobody:/nonexistent:/sbin/nologin\n' > "$work/skel/etc/passwd"
printf 'nobody:x:65532:\n' > "$work/skel/etc/group"
"${t[@]}" -C "$work/skel" -cf "$out" .

# node and its libraries (symlinks followed, so each is a file at the path the loader asks for).
node_bin="$(command -v node)"
libs=()
while read -r lib; do libs+=("${lib#/}"); done < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
"${t[@]}" -h -C / -rf "$out" "${node_bin#/}" "${libs[@]}"

# The app: this checkout, renamed to /app.
base="$(basename "$repo")"
"${t[@]}" -C "$(dirname "$repo")" --transform "flags=rh;s,^$base/,app/," -rf "$out" \
  "$base/package.json" "$base/bin" "$base/dist" "$base/proto"

# Production dependencies as npm resolved them: package-lock.json marks
# dev-only packages "dev": true; they are left out by anchored path.
modules="$(readlink -f "$repo/node_modules")"
node -e '
  const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const [path, meta] of Object.entries(lock.packages ?? {}))
    if (path.startsWith("node_modules/") && meta.dev) console.log(path);
' "$repo/package-lock.json" > "$work/dev-packages"
echo node_modules/.bin >> "$work/dev-packages"
"${t[@]}" -C "$(dirname "$modules")" --anchored --exclude-from="$work/dev-packages" \
  --transform "flags=rh;s,^$(basename "$modules"),app/node_modules," -rf "$out" "$(basename "$modules")"
