# Sourced by the scripts in scripts/image/: podman as this sandbox needs it, and logging.
# Rootful podman on its default storage (/var/lib/containers/storage) with the vfs driver (no
# overlayfs here), runc (crun is not installed) and cgroupfs (no systemd), so that
# `podman --storage-driver vfs image inspect IMAGE` finds what these scripts build.
podman_global=(--storage-driver vfs --runtime runc --cgroup-manager cgroupfs)
# podman's default rlimits (from containers.conf) are above what this sandbox lets runc set, so
# every container (a build's RUN step too) gets explicit ones. PODMAN_ULIMITS overrides them.
read -r -a podman_ulimits <<<"${PODMAN_ULIMITS:---ulimit nofile=16384:16384 --ulimit nproc=16384:16384}"
pod() { podman "${podman_global[@]}" "$@"; }

log() { printf '[image] %s\n' "$*" >&2; }
die() {
  printf '[image] ERROR: %s\n' "$*" >&2
  exit 1
}

require_tools() {
  [[ $(id -u) -eq 0 ]] || die "run as root: the image goes to podman's default (rootful) storage"
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "$tool not found; bash scripts/peers/install.sh installs podman, runc and debootstrap"
  done
}
