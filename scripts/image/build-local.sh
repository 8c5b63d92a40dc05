#!/usr/bin/env bash
# Builds the container image localhost/crd-metrics-bridge:dev with podman from the root Dockerfile
# (the one .github/workflows/image.yml builds), on a machine that reaches no container registry:
# the Dockerfile's base images (BUILD_IMAGE, RUNTIME_IMAGE) come from scripts/image/base-images.sh,
# which assembles them from Debian packages and the npm registry's Node.js binary.
#
# Runs as root, on podman's default storage with the vfs driver (see scripts/image/podman-env.sh
# and docs/kubernetes.md, "The container image"). `bash scripts/peers/install.sh` installs podman,
# runc and debootstrap. Warm (bases assembled, inputs unchanged) it takes seconds; a build after a
# source change takes a few minutes. --rebuild-bases assembles the bases again.
#
# Environment: IMAGE (default localhost/crd-metrics-bridge:dev), PODMAN_ULIMITS, and those of
# base-images.sh. Prints the image reference on stdout; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"
image="${IMAGE:-localhost/crd-metrics-bridge:dev}"
base_flags=()
[[ ${1:-} == --rebuild-bases ]] && base_flags=(--rebuild)

require_tools podman runc node

bases="$(bash "$here/base-images.sh" "${base_flags[@]}")"
build_base="$(sed -n 's/^BUILD_IMAGE=//p' <<<"$bases")"
runtime_base="$(sed -n 's/^RUNTIME_IMAGE=//p' <<<"$bases")"

revision=unknown
if git -C "$root" rev-parse HEAD >/dev/null 2>&1; then
  revision="$(git -C "$root" rev-parse --short=12 HEAD)"
  [[ -z "$(git -C "$root" status --porcelain --untracked-files=no)" ]] || revision+="-dirty"
fi
version="$(node -p "require('$root/package.json').version")"

# Everything the build reads: the context as .dockerignore admits it (a `*` line, then `!path`
# lines), the Dockerfile, the base images and the build arguments but the revision. An image built
# from the same inputs is reused as it is: even a fully cached `podman build` copies the tree once
# per step on vfs.
inputs_hash() {
  local admitted=() line
  while IFS= read -r line; do
    case $line in
      '' | '#'*) ;;
      '*') ;;
      '!'*) admitted+=("${line#!}") ;;
      *) return 1 ;;
    esac
  done <"$root/.dockerignore"
  {
    (cd "$root" && find "${admitted[@]%/}" -type f -print0 | sort -z | xargs -0 sha256sum)
    sha256sum "$root/Dockerfile" "$root/.dockerignore"
    pod image inspect --format '{{.Id}}' "$build_base" "$runtime_base"
    # Not the revision: a commit that changes nothing the image holds (tests, docs) reuses the image,
    # which then names the commit it was built from.
    echo "VERSION=$version"
  } | sha256sum | cut -c1-64
}
label=localhost.crd-metrics-bridge.build-inputs
inputs="$(inputs_hash || echo unknown)"
if [[ $inputs != unknown && "$(pod image inspect --format "{{index .Labels \"$label\"}}" "$image" 2>/dev/null)" == "$inputs" ]]; then
  log "$image is up to date (same sources, Dockerfile, bases and build arguments)"
  echo "$image"
  exit 0
fi

log "building $image (BUILD_IMAGE=$build_base, RUNTIME_IMAGE=$runtime_base, REVISION=$revision)"
previous="$(pod image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
# --network host: the build stage's `npm ci` reaches the npm registry through the host's network
# (no bridge networking for containers in this sandbox).
pod build "${podman_ulimits[@]}" --network host --layers \
  --build-arg "BUILD_IMAGE=$build_base" \
  --build-arg "RUNTIME_IMAGE=$runtime_base" \
  --build-arg "REVISION=$revision" \
  --build-arg "VERSION=$version" \
  --label "$label=$inputs" \
  --tag "$image" --file "$root/Dockerfile" "$root" >&2
current="$(pod image inspect --format '{{.Id}}' "$image")"
# With vfs every layer is a full copy of the tree: drop the image this build replaced and the
# build cache no image refers to any more, so repeated builds do not fill the disk.
if [[ -n $previous && $previous != "$current" ]]; then
  pod rmi "$previous" >/dev/null 2>&1 || true
fi
pod image prune --force >/dev/null 2>&1 || true
log "built $image: $(pod image inspect --format '{{.Size}}' "$image") bytes"
echo "$image"
