#!/usr/bin/env bash
# Writes a single-layer image in the `docker save` format (what
# `ctr images import` reads): a tar holding manifest.json, the config JSON
# named by its sha256, and layer.tar. No registry is involved.
# Usage: image-tar.sh ROOTFS_DIR|LAYER_TAR REF OUT_TAR ENTRYPOINT_JSON [WORKDIR]
#   e.g. image-tar.sh rootfs localhost/kubetee-e2e/pause:1 pause.tar '["/pause"]'
# A LAYER_TAR (a file) is moved into the image, not copied.
set -euo pipefail

src="${1:?usage: image-tar.sh ROOTFS_DIR|LAYER_TAR REF OUT_TAR ENTRYPOINT_JSON [WORKDIR]}"
ref="${2:?ref}"
out="${3:?out}"
entrypoint="${4:?entrypoint JSON array}"
workdir="${5:-/}"

work="$(mktemp -d "$(dirname "$out")/.image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if [ -d "$src" ]; then
  # Owned by root, numeric ids: the layer does not depend on who built it.
  tar --sort=name --owner=0 --group=0 --numeric-owner -C "$src" -cf "$work/layer.tar" .
else
  mv "$src" "$work/layer.tar"
fi
diff_id="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":$entrypoint,\"Env\":[\"PATH=/usr/local/bin:/usr/bin:/bin\"],\"WorkingDir\":\"$workdir\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}"
config_id="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
printf '%s' "$config" > "$work/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config_id" "$ref" > "$work/manifest.json"
tar -C "$work" -cf "$out.tmp" manifest.json "$config_id.json" layer.tar
mv "$out.tmp" "$out"
