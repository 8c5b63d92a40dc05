// Every metric the mixin's alerts and dashboard query exists on a real bridge scraped by a real
// Prometheus, and the alert expressions select what they should on a bridge in trouble: one
// resource forbidden by RBAC, an object whose value does not convert, an OTLP endpoint that refuses.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { freePort } from '../harness/ports.ts';
import { httpRequest, makePeerDir, removePeerDir } from '../harness/processes.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { metricNamesIn } from '../support/promqlNames.ts';
import { until } from '../support/until.ts';

const JOB = 'crd-metrics-bridge';

const CONFIG = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: backup.example.com, version: v1, kind: Backup}
      metrics:
        - name: size_bytes
          help: Size of the backup.
          each: {type: Gauge, gauge: {path: [status, sizeBytes]}}
        # A string where a number is needed: an object error for every Backup.
        - name: target_number
          help: Not a number.
          each: {type: Gauge, gauge: {path: [spec, target]}}
    # Not granted to the ServiceAccount: forbidden.
    - groupVersionKind: {group: example.com, version: v1, kind: Widget}
      metrics:
        - name: widget_size
          help: Size.
          each: {type: Gauge, gauge: {path: [spec, size]}}
`;

interface AlertRule {
  alert: string;
  expr: string;
}

function alertRules(): AlertRule[] {
  const file = parse(readFileSync(path.join(repoRoot, 'mixin/alerts.yaml'), 'utf8')) as {
    groups: { rules: AlertRule[] }[];
  };
  return file.groups.flatMap((g) => g.rules);
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(
    readFileSync(path.join(repoRoot, 'mixin/dashboards/crd-metrics-bridge.json'), 'utf8'),
  ) as { panels: { targets?: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } };
  const panelExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  // Template variables query too, e.g. label_values(crd_metrics_bridge_build_info, job).
  const variableExprs = dashboard.templating.list
    .map((v) => (typeof v.query === 'object' && v.query ? (v.query as { query?: string }).query : undefined))
    .filter((q): q is string => typeof q === 'string')
    .map((q) => /^label_values\((\w+)/.exec(q)?.[1] ?? q);
  return [...panelExprs, ...variableExprs];
}

describe('mixin metric names against a real bridge and Prometheus', () => {
  let api: KubeApiserverHandle;
  let bridge: BridgeHandle;
  let prometheus: PrometheusHandle;
  let dir: string;

  before(async () => {
    dir = makePeerDir('mixin-metrics');
    api = await startKubeApiserver();
    const ok = async (args: string[], input?: string): Promise<void> => {
      const r = await api.kubectl(args, input === undefined ? {} : { input });
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    };
    await ok(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await ok(['apply', '-f', path.join(repoRoot, 'test/fixtures/kube/widgets-crd.yaml')]);
    await ok(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
    await ok(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
    await ok(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
    const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'bridge');
    // Backups and CRDs only; widgets stay forbidden.
    // prettier-ignore
    await ok(['create', 'clusterrole', 'bridge', '--verb=get,list,watch',
      '--resource=backups.backup.example.com,customresourcedefinitions.apiextensions.k8s.io']);
    await ok([
      'create',
      'clusterrolebinding',
      'bridge',
      '--clusterrole=bridge',
      '--serviceaccount=monitoring:bridge',
    ]);
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, CONFIG);
    const refusedOtlpPort = await freePort();
    bridge = await startBridge({
      config,
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${kubeconfig}`],
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${refusedOtlpPort}/v1/metrics`,
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      },
      waitForReady: false,
    });
    prometheus = await startPrometheus({
      scrapeTargets: [bridge.address, new URL(bridge.telemetryUrl).host],
      jobName: JOB,
    });
  });

  after(async () => {
    await prometheus?.stop();
    await bridge?.stop();
    await api?.stop();
    if (dir) removePeerDir(dir);
  });

  it('every metric name in mixin/alerts.yaml and the dashboard has series from the bridge job', async () => {
    const names = new Set<string>();
    for (const rule of alertRules()) for (const n of metricNamesIn(rule.expr)) names.add(n);
    for (const expr of dashboardExpressions()) for (const n of metricNamesIn(expr)) names.add(n);
    assert.ok(names.size >= 15, `only ${names.size} names found: ${[...names].join(', ')}`);
    // A change, so that watch events are counted (the list delivered the existing Backup).
    const touched = await api.kubectl(['annotate', 'backup', 'test-backup', '-n', 'default', 'touch=0']);
    assert.equal(touched.code, 0, touched.stderr);
    // The counters that need a fault have one by now (the alerts below check which).
    await until('an OTLP export failure', async () =>
      /crd_metrics_bridge_otlp_exports_total\{[^}]*result="failure"/.test(
        (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body,
      ),
    );
    const missing: string[] = [];
    for (const name of [...names].sort()) {
      try {
        await prometheus.waitForSeries(`${name}{job="${JOB}"}`, (s) => s.length > 0, 20_000);
      } catch {
        missing.push(name);
      }
    }
    assert.deepEqual(missing, [], `no series for: ${missing.join(', ')}`);
  });

  it('the alert expressions pick out the forbidden resource, the object errors and the failing OTLP export', async () => {
    const exprOf = (alert: string): string => {
      const rule = alertRules().find((r) => r.alert === alert);
      assert.ok(rule, alert);
      return rule.expr;
    };
    // Without `for`: what would be pending now.
    const pending = async (alert: string, label: string): Promise<string[]> => {
      // Forbidden lists are retried every 10-25 s, so a rate needs a minute or so.
      const found = await prometheus.waitForSeries(exprOf(alert), (s) => s.length > 0, 90_000);
      return found.map((s) => s.metric[label] ?? '').sort();
    };
    assert.deepEqual(await pending('CrdMetricsBridgeForbidden', 'target'), ['example.com/v1/widgets']);
    assert.deepEqual(await pending('CrdMetricsBridgeListErrors', 'target'), ['example.com/v1/widgets']);
    // Errors must keep coming: each change of the Backup fails to convert again.
    let touches = 0;
    const touching = setInterval(() => {
      void api.kubectl([
        'annotate',
        'backup',
        'test-backup',
        '-n',
        'default',
        `touch=${++touches}`,
        '--overwrite',
      ]);
    }, 2000);
    const objectErrors = await pending('CrdMetricsBridgeObjectErrors', 'resource').finally(() =>
      clearInterval(touching),
    );
    assert.deepEqual(objectErrors, [
      (await prometheus.query(`crd_metrics_bridge_cached_objects{kind="Backup"}`))[0]!.metric['resource']!,
    ]);
    assert.equal((await pending('CrdMetricsBridgeOtlpExportFailures', 'job')).length, 1);
    // And the ones that must stay quiet on this bridge.
    for (const alert of [
      'CrdMetricsBridgeDown',
      'CrdMetricsBridgeConfigReloadFailed',
      'CrdMetricsBridgeScrapeTooLarge',
      'CrdMetricsBridgeStale',
    ]) {
      assert.deepEqual(await prometheus.query(exprOf(alert)), [], `${alert} selects something`);
    }
  });
});
