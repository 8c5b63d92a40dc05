#!/usr/bin/env bash
# Assembles the two base images the Dockerfile takes as build arguments, for a machine that reaches
# no container registry, and imports them into podman's storage:
#   BUILD_IMAGE    stands in for node:24-bookworm-slim: Debian bookworm (debootstrap, minbase), the
#                  Node.js binary of the npm package node-linux-<arch> (the version of package.json's
#                  `node` devDependency) as /usr/local/bin/node, and npm
#   RUNTIME_IMAGE  stands in for gcr.io/distroless/nodejs24-debian12:nonroot, from Debian packages:
#                  glibc, libgcc, libstdc++, CA certificates, tzdata, netbase, /etc/passwd with root,
#                  nonroot (65532) and nobody (65534), no shell, node at /nodejs/bin/node, user 65532
# Each is tagged with a hash of this script, the Node and npm versions and the host's CA bundle,
# and is assembled only when that tag is missing (or with --rebuild). Older tags are removed.
# Prints BUILD_IMAGE=<ref> and RUNTIME_IMAGE=<ref> on stdout; progress goes to stderr.
#
# The build base trusts the host's CA bundle (NODE_EXTRA_CA_CERTS): the build stage's `npm ci`
# goes through the host's network, which may pass a TLS-intercepting proxy. The runtime base has
# Debian's CA certificates only.
#
# Environment: NPM_VERSION (npm in the build base), DEBIAN_MIRROR, CRD_BRIDGE_CACHE.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"
npm_version="${NPM_VERSION:-11.19.1}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${CRD_BRIDGE_CACHE:-$HOME/.cache/crd-metrics-bridge}/image"
host_ca=/etc/ssl/certs/ca-certificates.crt
rebuild=0
[[ ${1:-} == --rebuild ]] && rebuild=1

require_tools podman runc debootstrap dpkg-deb apt-get ldconfig npm node

case "$(uname -m)" in
  x86_64) node_arch=x64 multiarch=x86_64-linux-gnu ;;
  aarch64) node_arch=arm64 multiarch=aarch64-linux-gnu ;;
  *) die "no Node.js package for $(uname -m)" ;;
esac
node_version="$(node -p "require('$root/package.json').devDependencies.node")"
[[ $node_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "package.json's devDependencies.node is not an exact version: $node_version"
recipe="$({
  cat "${BASH_SOURCE[0]}"
  echo "node=$node_version npm=$npm_version arch=$node_arch"
  sha256sum "$host_ca" 2>/dev/null || true
} | sha256sum | cut -c1-12)"
build_repo=localhost/crd-metrics-bridge-build-base
runtime_repo=localhost/crd-metrics-bridge-runtime-base
build_base="$build_repo:node$node_version-$recipe"
runtime_base="$runtime_repo:node$node_version-$recipe"

mkdir -p "$cache"
work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The Node.js binary as the npm registry ships it (the `node` package's per-platform payload).
node_binary() {
  local dir="$cache/node-$node_version-$node_arch"
  if [[ ! -x $dir/bin/node ]]; then
    log "fetching node-linux-$node_arch@$node_version from the npm registry"
    local tgz
    tgz="$(cd "$work" && npm pack --silent --prefer-offline "node-linux-$node_arch@$node_version")"
    mkdir -p "$dir.tmp"
    tar -xzf "$work/$tgz" -C "$dir.tmp" --strip-components=1 package/bin/node
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir/bin/node"
}

# $1 = directory, $2 = image reference, then Dockerfile instructions for the image's config.
import_tree() {
  local dir="$1" ref="$2"
  shift 2
  local changes=() c
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$dir" -c . | pod import "${changes[@]}" - "$ref" >/dev/null
}

# Removes the other tags of a base's repository (an earlier recipe's).
drop_stale() {
  local repo="$1" keep="$2" ref
  for ref in $(pod images --noheading --format '{{.Repository}}:{{.Tag}}' "$repo" 2>/dev/null); do
    [[ $ref == "$keep" ]] || pod rmi "$ref" >/dev/null 2>&1 || true
  done
}

assemble_build_base() {
  log "assembling $build_base (debootstrap bookworm: about a minute)"
  local rootfs="$work/build-root"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed: $(tail -n 5 "$work/debootstrap.log")"
  install -m 0755 "$(node_binary)" "$rootfs/usr/local/bin/node"
  log "fetching npm@$npm_version from the npm registry"
  local tgz
  tgz="$(cd "$work" && npm pack --silent --prefer-offline "npm@$npm_version")"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  local ca_env=()
  if [[ -f $host_ca ]]; then
    mkdir -p "$rootfs/usr/local/share/host-ca"
    cp "$host_ca" "$rootfs/usr/local/share/host-ca/ca-certificates.crt"
    ca_env=('ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca/ca-certificates.crt')
  fi
  # What an image needs no copy of: package lists and caches, docs, device nodes (the container
  # runtime provides /dev).
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/dev/*
  import_tree "$rootfs" "$build_base" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "ENV NODE_VERSION=$node_version" \
    "${ca_env[@]}" \
    'CMD ["node"]'
}

# The packages distroless' cc and nodejs images are made of, minus what node does not load
# (libssl: node links OpenSSL statically; libgomp).
runtime_packages=(base-files netbase tzdata ca-certificates libc6 libgcc-s1 gcc-12-base libstdc++6)

assemble_runtime_base() {
  log "assembling $runtime_base (Debian packages: ${runtime_packages[*]})"
  local debs="$work/debs" rootfs="$work/runtime-root" deb
  mkdir -p "$debs" "$rootfs/var/lib/dpkg/status.d"
  (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${runtime_packages[@]}" >&2) ||
    die "apt-get download failed (has apt-get update run?)"
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$rootfs"
    # As distroless records its packages, for image scanners.
    dpkg-deb -f "$deb" >"$rootfs/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
  done
  # The bundle ca-certificates' postinst (update-ca-certificates) would generate.
  mkdir -p "$rootfs/etc/ssl/certs"
  find "$rootfs/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z |
    xargs -0 cat >"$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'include /etc/ld.so.conf.d/*.conf\n' >"$rootfs/etc/ld.so.conf"
  ldconfig -r "$rootfs"
  # No shell and no tools: libc's helper programs (ldd, iconv, getconf, ...) go, and what only
  # they or a compiler use.
  rm -rf "$rootfs"/bin "$rootfs"/sbin "$rootfs"/usr/bin "$rootfs"/usr/sbin "$rootfs"/usr/libexec \
    "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/info \
    "$rootfs"/usr/share/lintian "$rootfs"/usr/share/gcc "$rootfs"/usr/share/gdb \
    "$rootfs/usr/lib/$multiarch/gconv"
  cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  cat >"$rootfs/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
ethers: files
rpc: files
EOF
  mkdir -p "$rootfs/root" "$rootfs/home/nonroot" "$rootfs/tmp" "$rootfs/nodejs/bin"
  chmod 0700 "$rootfs/root" "$rootfs/home/nonroot"
  chown 65532:65532 "$rootfs/home/nonroot"
  chmod 1777 "$rootfs/tmp"
  install -m 0755 "$(node_binary)" "$rootfs/nodejs/bin/node"
  import_tree "$rootfs" "$runtime_base" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    'USER 65532' \
    'WORKDIR /home/nonroot' \
    'ENTRYPOINT ["/nodejs/bin/node"]'
}

if [[ $rebuild -eq 1 ]] || ! pod image exists "$build_base"; then assemble_build_base; fi
if [[ $rebuild -eq 1 ]] || ! pod image exists "$runtime_base"; then assemble_runtime_base; fi
drop_stale "$build_repo" "$build_base"
drop_stale "$runtime_repo" "$runtime_base"
echo "BUILD_IMAGE=$build_base"
echo "RUNTIME_IMAGE=$runtime_base"
