#!/usr/bin/env bash
# Copies the monitoring mixin (mixin/alerts.yaml, mixin/dashboards/*.json) into the Helm chart,
# which can only read files under its own directory. mixin/ is the source; test/mixin/mixin.test.ts
# fails when the chart's copies differ, naming this script.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART_FILES="$ROOT/charts/crd-metrics-bridge/files"
mkdir -p "$CHART_FILES/dashboards"
cp "$ROOT/mixin/alerts.yaml" "$CHART_FILES/alerts.yaml"
rm -f "$CHART_FILES"/dashboards/*.json
cp "$ROOT"/mixin/dashboards/*.json "$CHART_FILES/dashboards/"
echo "copied mixin/alerts.yaml and mixin/dashboards/*.json to ${CHART_FILES#"$ROOT"/}"
