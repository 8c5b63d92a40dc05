#!/usr/bin/env bash
# Builds the container image's application tree into OUT (default ./build/app): dist/ (bundled
# from src/ with the dev dependencies, in a scratch copy), bin/, rules/, package.json, LICENSE and the
# production node_modules only. The Dockerfile's build stage runs this script, and
# test/package/imageTree.test.ts runs the result the way the image does.
#
# Needs Node 24 and npm on PATH. The revision in dist/build-info.json is CRD_METRICS_BRIDGE_REVISION,
# else this checkout's `git rev-parse` (the scratch copy has no .git).
# NPM_FLAGS adds flags to every npm call (e.g. --prefer-offline).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/build/app}"
npm_flags=(--no-audit --no-fund --ignore-scripts ${NPM_FLAGS:-})

if [[ -z "${CRD_METRICS_BRIDGE_REVISION:-}" ]] && git -C "$root" rev-parse HEAD >/dev/null 2>&1; then
  CRD_METRICS_BRIDGE_REVISION="$(git -C "$root" rev-parse --short=12 HEAD)"
  if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]]; then
    CRD_METRICS_BRIDGE_REVISION+="-dirty"
  fi
fi
export CRD_METRICS_BRIDGE_REVISION="${CRD_METRICS_BRIDGE_REVISION:-unknown}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# 1. Bundle in a scratch copy, so a checkout's node_modules is neither used nor touched.
cp -R "$root/package.json" "$root/package-lock.json" "$root/tsconfig.json" \
  "$root/src" "$scratch/"
mkdir -p "$scratch/scripts" && cp "$root/scripts/build.js" "$scratch/scripts/"
# The bundle needs the libraries it bundles and esbuild, not the development tools: they are left
# out of the scratch copy's package.json (the Node binary package alone unpacks to 120 MB), and
# npm install takes the rest at the versions package-lock.json pins.
(cd "$scratch" && npm pkg delete devDependencies.node devDependencies.typescript devDependencies.eslint \
  devDependencies.typescript-eslint devDependencies.prettier devDependencies.fast-check \
  'devDependencies.@types/node')
(cd "$scratch" && npm install "${npm_flags[@]}" >&2 && node scripts/build.js)

# 2. The application tree: what the package ships, plus production dependencies.
rm -rf "$out"
mkdir -p "$out"
cp -R "$scratch/dist" "$root/bin" "$root/rules" "$root/package.json" "$root/package-lock.json" "$root/LICENSE" "$out/"
(cd "$out" && npm ci --omit=dev "${npm_flags[@]}" >&2)
# npm's lock copy inside node_modules is only a cache.
rm -f "$out/node_modules/.package-lock.json"
# Type declarations, source maps and READMEs are half of the production tree (@kubernetes/client-node
# ships all three) and nothing loads them at run time: they would only make every pull and every
# container start copy more. Licence files stay.
find "$out/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.map' -o \( -iname '*.md' ! -iname 'licen[cs]e*' \) \) -delete
echo "$out"
