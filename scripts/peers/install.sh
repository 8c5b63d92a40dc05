#!/usr/bin/env bash
# Installs or builds the real peers the integration tests talk to:
#   prometheus + promtool       (Prometheus 3.x built from the Go module proxy; Debian's 2.42 on request)
#   etcd                        (Debian package if new enough, else built from the Go module proxy)
#   kube-apiserver + kubectl    (built from the k8s.io/kubernetes Go module)
#   otelcol-bridge-test         (OpenTelemetry Collector built with the Collector builder)
#   helm                        (built from the helm.sh/helm Go module, for the chart tests)
#   podman + runc + debootstrap (Debian packages, to build and run the container image:
#                               scripts/image/build-local.sh, test/integration/image.test.ts)
#
# Idempotent: everything is cached under $CRD_BRIDGE_CACHE (default
# ~/.cache/crd-metrics-bridge) and a warm run only checks versions/hashes.
# A cold run needs a Go toolchain (go on PATH or /usr/local/go/bin/go) and
# access to the Go module proxy and Debian's package mirror.
#
# Overrides (environment):
#   CRD_BRIDGE_CACHE   cache root (binaries land in $CRD_BRIDGE_CACHE/bin)
#   KUBEBUILDER_ASSETS directory with kube-apiserver, etcd and kubectl (envtest
#                      layout); when complete, the Kubernetes and etcd builds are skipped
#   CRD_BRIDGE_K8S_VERSION      k8s.io/kubernetes version to build (default below)
#   CRD_BRIDGE_ETCD_VERSION     etcd version to build when Debian's is too old
#   CRD_BRIDGE_OTELCOL_VERSION  Collector builder version (must match otel-config/collector-builder.yaml)
#   CRD_BRIDGE_PEERS_SKIP       space-separated subset of: openmetrics-parser prometheus etcd
#                               kubernetes collector helm podman
#   CRD_BRIDGE_HELM_VERSION     Helm release to build (v3.x.y or v4.x.y; default below)
#   CRD_BRIDGE_PROMETHEUS       source (default: build Prometheus 3.x + promtool from the Go module
#                               proxy into $CRD_BRIDGE_CACHE/bin, which the harness prefers over PATH)
#                               or debian (the distribution's package, 2.42 on bookworm: it cannot
#                               negotiate scrape_protocols nor receive OTLP, so the tests that need
#                               those fail with it)
#   CRD_BRIDGE_PROMETHEUS_VERSION  github.com/prometheus/prometheus module version for `source`
#                               (v0.316.0 is Prometheus 3.16.0)
#   GO                          path of the go binary
# (Prefixed names: etcd itself reads every ETCD_* variable as a flag.)
set -euo pipefail

K8S_VERSION="${CRD_BRIDGE_K8S_VERSION:-v1.37.2}"
# Kubernetes 1.34+ supports etcd 3.6+; 1.37 itself is built against the 3.7 client.
ETCD_VERSION="${CRD_BRIDGE_ETCD_VERSION:-v3.7.3}"
ETCD_MIN_MINOR=6
OTELCOL_VERSION="${CRD_BRIDGE_OTELCOL_VERSION:-v0.155.0}"
HELM_VERSION="${CRD_BRIDGE_HELM_VERSION:-v4.3.2}"
# Prometheus 3 is the test peer: scrape_protocols (each exposition format negotiated by a real
# Prometheus), the OTLP receiver and the remote-write receiver. promtool comes from the same build,
# so `promtool check metrics` judges with the same parser that scrapes.
PROMETHEUS_FROM="${CRD_BRIDGE_PROMETHEUS:-source}"
PROMETHEUS_VERSION="${CRD_BRIDGE_PROMETHEUS_VERSION:-v0.316.0}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE="${CRD_BRIDGE_CACHE:-$HOME/.cache/crd-metrics-bridge}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
TOOLS="$CACHE/tools"
VERSIONS_FILE="$BIN/VERSIONS"
MANIFEST="$REPO_ROOT/otel-config/collector-builder.yaml"
PEERS_SKIP="${CRD_BRIDGE_PEERS_SKIP:-}"

log() { printf '[peers] %s\n' "$*"; }
DIED=0
die() {
  printf '[peers] ERROR: %s\n' "$*" >&2
  DIED=1
  exit 1
}
# set -e can stop the script inside a command that printed nothing useful.
trap 'rc=$?; if [[ $rc -ne 0 && $DIED -eq 0 ]]; then printf "[peers] ERROR: install failed (exit %s); see the output above\n" "$rc" >&2; fi' EXIT

skipped() { [[ " $PEERS_SKIP " == *" $1 "* ]]; }

mkdir -p "$BIN" "$SRC" "$TOOLS"
touch "$VERSIONS_FILE"

# Two CI jobs sharing one HOME must not build into the same directories at once.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.install.lock"
  if ! flock -n 9; then
    log "another install.sh holds $CACHE/.install.lock; waiting for it"
    flock 9
  fi
fi

version_of() { sed -n "s/^$1=//p" "$VERSIONS_FILE" | head -n1; }
record_version() {
  local tmp
  tmp="$(mktemp "$VERSIONS_FILE.XXXXXX")"
  { grep -v "^$1=" "$VERSIONS_FILE" || true; printf '%s=%s\n' "$1" "$2"; } | sort >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$VERSIONS_FILE"
}

declare -a SUMMARY=()
step_start=0
begin() {
  step_start=$SECONDS
  log "== $1"
}
finish() {
  local took=$((SECONDS - step_start))
  SUMMARY+=("$(printf '%-16s %-10s %4ss  %s' "$1" "$2" "$took" "$3")")
}

# ---------------------------------------------------------------- helpers
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: $*"
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  # policy-rc.d=101 keeps package scripts from starting system services:
  # the tests run their own instances on loopback ports with private data dirs.
  local policy=/usr/sbin/policy-rc.d placed=0
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    placed=1
  fi
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || rc=$?
  if [[ $placed -eq 1 ]]; then as_root rm -f "$policy"; fi
  [[ $rc -eq 0 ]] || die "apt-get install $* failed"
}

GO_BIN=""
need_go() {
  [[ -n $GO_BIN ]] && return 0
  local cand
  for cand in "${GO:-}" "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
    if [[ -n $cand && -x $cand ]]; then
      GO_BIN="$cand"
      break
    fi
  done
  [[ -n $GO_BIN ]] || die "a Go toolchain is needed to build the peers: put go on PATH, install it at /usr/local/go, or set GO=/path/to/go"
  # The Collector builder runs `go` from PATH.
  PATH="$(dirname "$GO_BIN"):$PATH"
  export PATH
  # Static binaries: no C toolchain needed, and they run on any glibc.
  export CGO_ENABLED=0
  log "using $("$GO_BIN" version) ($GO_BIN)"
}

have_all() {
  local dir="$1"
  shift
  local f
  for f in "$@"; do [[ -x "$dir/$f" ]] || return 1; done
}

kubebuilder_assets_complete() {
  [[ -n ${KUBEBUILDER_ASSETS:-} ]] && have_all "$KUBEBUILDER_ASSETS" kube-apiserver etcd kubectl
}

# Go ignores `replace` directives of dependencies, so a throwaway module whose
# go.mod we write ourselves is how upstream binaries whose own go.mod relies on
# local replaces (k8s.io/kubernetes, etcd server) can be built from the proxy.
write_module() {
  local dir="$1" content="$2"
  mkdir -p "$dir"
  if [[ ! -f $dir/go.mod ]] || [[ "$(cat "$dir/.go.mod.seed" 2>/dev/null)" != "$content" ]]; then
    printf '%s\n' "$content" >"$dir/go.mod"
    printf '%s\n' "$content" >"$dir/.go.mod.seed"
    rm -f "$dir/go.sum"
  fi
}

# ---------------------------------------------------------------- prometheus
install_prometheus_from_source() {
  [[ $PROMETHEUS_VERSION =~ ^v0\.3([0-9][0-9])\.([0-9]+)$ ]] ||
    die "CRD_BRIDGE_PROMETHEUS_VERSION must look like v0.316.0 (Prometheus 3.x module versioning), got '$PROMETHEUS_VERSION'"
  local release="3.$((10#${BASH_REMATCH[1]})).${BASH_REMATCH[2]}"
  if have_all "$BIN" prometheus promtool && [[ "$(version_of prometheus)" == "$release" ]]; then
    finish prometheus cached "$BIN/prometheus, $BIN/promtool ($release)"
    return
  fi
  need_go
  log "building Prometheus $release from github.com/prometheus/prometheus@$PROMETHEUS_VERSION (cold: about 5 min)"
  local gobin="$TOOLS/gobin.$$"
  mkdir -p "$gobin"
  # No replace directives upstream, so plain `go install pkg@version` works.
  # The web UI is not embedded (no builtinassets tag); the HTTP API is all the tests use.
  GOFLAGS='' GOBIN="$gobin" "$GO_BIN" install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" ||
    die "building Prometheus $release failed"
  mv -f "$gobin/prometheus" "$BIN/prometheus"
  mv -f "$gobin/promtool" "$BIN/promtool"
  rm -rf "$gobin"
  record_version prometheus "$release"
  finish prometheus built "$BIN/prometheus, $BIN/promtool ($release)"
}

install_prometheus() {
  begin prometheus
  case $PROMETHEUS_FROM in
    source)
      install_prometheus_from_source
      return
      ;;
    debian) ;;
    *) die "CRD_BRIDGE_PROMETHEUS must be debian or source, got '$PROMETHEUS_FROM'" ;;
  esac
  # A source build left in the cache would shadow the package (the harness
  # looks in $BIN before PATH), so `debian` removes it.
  if [[ -e $BIN/prometheus || -e $BIN/promtool ]]; then
    log "removing $BIN/prometheus and $BIN/promtool (CRD_BRIDGE_PROMETHEUS=debian)"
    rm -f "$BIN/prometheus" "$BIN/promtool"
    record_version prometheus "system"
  fi
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    finish prometheus cached "$(command -v prometheus), $(command -v promtool)"
    return
  fi
  apt_install prometheus
  command -v prometheus >/dev/null 2>&1 || die "prometheus is still not on PATH after apt-get install"
  command -v promtool >/dev/null 2>&1 || die "promtool is still not on PATH after apt-get install"
  finish prometheus installed "$(command -v prometheus), $(command -v promtool)"
}

# ---------------------------------------------------------------- etcd
etcd_minor_ok() {
  # $1 = a version like 3.4.23 or v3.6.1
  local v="${1#v}" major minor
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  ((major > 3 || (major == 3 && minor >= ETCD_MIN_MINOR)))
}

install_etcd() {
  begin etcd
  if kubebuilder_assets_complete; then
    finish etcd skipped "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    return
  fi
  if [[ -x $BIN/etcd && "$(version_of etcd)" == "$ETCD_VERSION" ]]; then
    finish etcd cached "$BIN/etcd"
    return
  fi
  # Debian's etcd-server is preferred when it is recent enough for the
  # Kubernetes version we build (bookworm ships 3.4, which 1.34+ no longer supports).
  local candidate
  candidate="$(apt-cache policy etcd-server 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1 || true)"
  if [[ -n $candidate && $candidate != "(none)" ]] && etcd_minor_ok "$candidate"; then
    if ! command -v etcd >/dev/null 2>&1; then apt_install etcd-server; fi
    local sys
    sys="$(command -v etcd || true)"
    if [[ -n $sys ]] && etcd_minor_ok "$("$sys" --version 2>/dev/null | sed -n 's/^etcd Version: *//p')"; then
      ln -sf "$sys" "$BIN/etcd"
      record_version etcd "debian-$candidate"
      ETCD_VERSION="debian-$candidate"
      finish etcd debian "$BIN/etcd -> $sys"
      return
    fi
  fi
  log "Debian etcd-server candidate '${candidate:-none}' is older than 3.$ETCD_MIN_MINOR; building etcd $ETCD_VERSION from the Go module proxy"
  need_go
  local dir="$SRC/etcd-$ETCD_VERSION"
  write_module "$dir" "module crd-metrics-bridge.local/peers/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  (
    cd "$dir"
    GOFLAGS=-mod=mod "$GO_BIN" build -trimpath -ldflags '-s -w' -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  ) || die "building etcd $ETCD_VERSION failed"
  mv -f "$BIN/etcd.tmp" "$BIN/etcd"
  record_version etcd "$ETCD_VERSION"
  finish etcd built "$BIN/etcd"
}

# ---------------------------------------------------------------- kubernetes
install_kubernetes() {
  begin kubernetes
  if kubebuilder_assets_complete; then
    finish kubernetes skipped "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    return
  fi
  if have_all "$BIN" kube-apiserver kubectl && [[ "$(version_of kube-apiserver)" == "$K8S_VERSION" && "$(version_of kubectl)" == "$K8S_VERSION" ]]; then
    finish kubernetes cached "$BIN/kube-apiserver, $BIN/kubectl"
    return
  fi
  need_go
  [[ $K8S_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "CRD_BRIDGE_K8S_VERSION must look like v1.37.2, got '$K8S_VERSION'"
  local minor="${BASH_REMATCH[1]}"
  local staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
  local dir="$SRC/kubernetes-$K8S_VERSION"
  mkdir -p "$dir"

  log "downloading k8s.io/kubernetes@$K8S_VERSION (first time: a few hundred MB)"
  local upstream_mod
  upstream_mod="$(cd "$dir" && GOFLAGS='' "$GO_BIN" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f $upstream_mod ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"

  # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.MINOR.PATCH`;
  # the staging list is read from upstream so new staging modules are picked up.
  local go_line replaces
  go_line="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream_mod" | head -n1)"
  replaces="$(sed -nE 's#^[[:space:]]*(replace[[:space:]]+)?([^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/[^[:space:]]+[[:space:]]*$#\t\2 => \2 '"$staging_version"'#p' "$upstream_mod")"
  [[ -n $replaces ]] || die "found no staging replace directives in $upstream_mod"
  log "pinning $(printf '%s\n' "$replaces" | wc -l) staging modules to $staging_version"
  write_module "$dir" "module crd-metrics-bridge.local/peers/kubernetes

go ${go_line:-1.26}

require k8s.io/kubernetes $K8S_VERSION

replace (
$replaces
)"

  # Same version stamping as hack/lib/version.sh, so /version and kubectl report $K8S_VERSION.
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  local out="$dir/_out"
  rm -rf "$out"
  mkdir -p "$out"
  log "building kube-apiserver and kubectl (cold: about 7-15 min on 2 cores)"
  (
    cd "$dir"
    GOFLAGS=-mod=mod "$GO_BIN" build -trimpath -ldflags "$ldflags" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  ) || die "building kube-apiserver/kubectl $K8S_VERSION failed"
  mv -f "$out/kube-apiserver" "$BIN/kube-apiserver"
  mv -f "$out/kubectl" "$BIN/kubectl"
  record_version kube-apiserver "$K8S_VERSION"
  record_version kubectl "$K8S_VERSION"
  finish kubernetes built "$BIN/kube-apiserver, $BIN/kubectl"
}

# ---------------------------------------------------------------- collector
install_collector() {
  begin collector
  [[ -f $MANIFEST ]] || die "missing builder manifest $MANIFEST"
  local target="$BIN/otelcol-bridge-test"
  # The hash covers the builder version too: the manifest alone does not pin it.
  local hash
  hash="$({ cat "$MANIFEST"; printf 'builder=%s\n' "$OTELCOL_VERSION"; } | sha256sum | cut -d' ' -f1)"
  if [[ -x $target && "$(cat "$target.sha256" 2>/dev/null)" == "$hash" ]]; then
    finish collector cached "$target"
    return
  fi
  need_go
  local builder="$TOOLS/builder-$OTELCOL_VERSION"
  if [[ ! -x $builder ]]; then
    log "installing go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION"
    local gobin="$TOOLS/gobin.$$"
    mkdir -p "$gobin"
    GOFLAGS='' GOBIN="$gobin" "$GO_BIN" install "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION" ||
      die "go install of the Collector builder failed"
    mv -f "$gobin/builder" "$builder"
    rm -rf "$gobin"
  fi
  # The manifest's output_path is relative, so it resolves inside this work dir.
  local dir="$SRC/otelcol"
  mkdir -p "$dir"
  log "building the Collector from $MANIFEST (cold: about 2-5 min)"
  # The builder runs `go mod tidy`, which also resolves the test-only imports
  # of every component; some of those (e.g. fileexporter's test dependency
  # otlpencodingextension) are not on every module proxy. -e lets tidy finish
  # without them; `go build` never needs them and ignores -e.
  (cd "$dir" && GOFLAGS='-mod=mod -e' "$builder" --config "$MANIFEST") || die "the Collector builder failed"
  local built
  built="$(find "$dir/_build" -maxdepth 1 -type f -name otelcol-bridge-test -perm -u+x | head -n1)"
  [[ -n $built ]] || die "the Collector builder produced no otelcol-bridge-test binary under $dir/_build"
  cp -f "$built" "$target.tmp"
  mv -f "$target.tmp" "$target"
  printf '%s\n' "$hash" >"$target.sha256"
  record_version otelcol-bridge-test "$OTELCOL_VERSION"
  finish collector built "$target"
}

# ---------------------------------------------------------------- helm
install_helm() {
  begin helm
  if [[ -x $BIN/helm && "$(version_of helm)" == "$HELM_VERSION" ]]; then
    finish helm cached "$BIN/helm"
    return
  fi
  [[ $HELM_VERSION =~ ^v([34])\.[0-9]+\.[0-9]+$ ]] || die "CRD_BRIDGE_HELM_VERSION must look like v4.3.2 or v3.19.0, got '$HELM_VERSION'"
  local module="helm.sh/helm/v${BASH_REMATCH[1]}"
  need_go
  log "building helm $HELM_VERSION from $module (cold: about 3-6 min on 2 cores)"
  local gobin="$TOOLS/gobin.$$"
  mkdir -p "$gobin"
  # No replace directives upstream, so plain `go install pkg@version` works. The -X flags are
  # the ones helm's Makefile sets for a tagged release, so `helm version` reports $HELM_VERSION.
  GOFLAGS='' GOBIN="$gobin" "$GO_BIN" install -trimpath \
    -ldflags "-s -w -X $module/internal/version.version=$HELM_VERSION -X $module/internal/version.metadata= -X $module/internal/version.gitTreeState=clean" \
    "$module/cmd/helm@$HELM_VERSION" || die "building helm $HELM_VERSION failed"
  mv -f "$gobin/helm" "$BIN/helm"
  rm -rf "$gobin"
  record_version helm "$HELM_VERSION"
  finish helm built "$BIN/helm"
}

# ---------------------------------------------------------------- openmetrics parser
# The tests check OpenMetrics output with a strict parser that is not ours: prometheus_client's
# (Debian's python3-prometheus-client), the reference implementation of the OpenMetrics format.
install_openmetrics_parser() {
  begin openmetrics-parser
  # Debian's package installs for Debian's python3; test/support/openmetrics.ts prefers that one
  # too (a python3 earlier on PATH, e.g. pyenv's, does not see the package).
  local py=/usr/bin/python3
  [[ -x $py ]] || py=python3
  if "$py" -c 'import prometheus_client.openmetrics.parser' >/dev/null 2>&1; then
    finish openmetrics-parser cached "$py prometheus_client"
    return
  fi
  apt_install python3 python3-prometheus-client
  py=/usr/bin/python3
  "$py" -c 'import prometheus_client.openmetrics.parser' >/dev/null 2>&1 ||
    die "$py cannot import prometheus_client.openmetrics.parser after apt-get install"
  finish openmetrics-parser installed "$py prometheus_client"
}

# ---------------------------------------------------------------- podman
# The container engine the image test builds and runs the image with (rootful, vfs storage, runc:
# see scripts/image/podman-env.sh), and debootstrap, which assembles the build stage's base image.
install_podman() {
  begin podman
  if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1; then
    finish podman cached "$(command -v podman), $(command -v runc), $(command -v debootstrap)"
    return
  fi
  apt_install podman runc debootstrap
  command -v podman >/dev/null 2>&1 || die "podman is still not on PATH after apt-get install"
  finish podman installed "$(command -v podman) ($(podman --version)), $(command -v runc)"
}

# ---------------------------------------------------------------- main
log "cache: $CACHE"
skipped openmetrics-parser || install_openmetrics_parser
skipped prometheus || install_prometheus
skipped etcd || install_etcd
skipped kubernetes || install_kubernetes
skipped collector || install_collector
skipped helm || install_helm
skipped podman || install_podman

log ""
log "summary (step, action, seconds, location):"
for line in "${SUMMARY[@]}"; do log "  $line"; done
log "versions ($VERSIONS_FILE):"
while IFS= read -r line; do log "  $line"; done <"$VERSIONS_FILE"
prom_used="$BIN/prometheus"
[[ -x $prom_used ]] || prom_used="$(command -v prometheus || true)"
if [[ -n $prom_used ]]; then
  log "  prometheus in use: $prom_used, version $("$prom_used" --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p')"
fi
log "binaries: $BIN (the test harness looks in KUBEBUILDER_ASSETS, then $BIN, then PATH)"
