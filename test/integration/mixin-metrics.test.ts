// Every metric the mixin's alerts and dashboard query exists on a real bridge scraped by a real
// Prometheus, and the alert expressions select what they should on a bridge in trouble: one
// resource forbidden by RBAC, an object whose value does not convert, an OTLP endpoint that refuses;
// and on custom resources in trouble (health: {}): one degraded, one progressing for hours, one
// flipping in and out of healthy (which also makes the transition counter and the time-to-healthy
// histogram, which only exist once a transition is seen, have series).
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
import { samples, startBridge } from '../support/bridgeProcess.ts';
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
    - groupVersionKind: {group: bench.example.com, version: v1, kind: Foo}
      health: {}
    # Not granted to the ServiceAccount: forbidden.
    - groupVersionKind: {group: example.com, version: v1, kind: Widget}
      metrics:
        - name: widget_size
          help: Size.
          each: {type: Gauge, gauge: {path: [spec, size]}}
`;

/** A Foo whose Ready condition is as given; the test plays its controller. */
function foo(name: string, ready: 'True' | 'False', reason: string, transitionAt: Date): string {
  return [
    'apiVersion: bench.example.com/v1',
    'kind: Foo',
    `metadata: { name: ${name}, namespace: team-a }`,
    'status:',
    '  conditions:',
    `  - { type: Ready, status: "${ready}", reason: ${reason}, lastTransitionTime: "${transitionAt.toISOString().replace(/\.\d+Z$/, 'Z')}" }`,
  ].join('\n');
}

/** The health state of Foo `name` in a scrape of the main listener. */
function healthOf(body: string, name: string): string | undefined {
  return samples(body, 'kube_customresource_health{')
    .find((l) => l.includes(`name="${name}"`) && l.endsWith(' 1'))
    ?.match(/state="(\w+)"/)?.[1];
}

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
    // Without the status subresource, `apply` sets status too.
    const foos = readFileSync(path.join(repoRoot, 'examples/aggregations/foos-crd.yaml'), 'utf8');
    assert.match(foos, /subresources: \{ status: \{\} \}\n/);
    await ok(['apply', '-f', '-'], foos.replace('      subresources: { status: {} }\n', ''));
    await ok(['wait', '--for=condition=Established', 'crd/foos.bench.example.com', '--timeout=30s']);
    await ok(['create', 'namespace', 'team-a']);
    // A tenant with more Foos than --limits.namespace-series (below) lets in: two held out.
    await ok(['create', 'namespace', 'tenant-z']);
    const tenantFoos = Array.from({ length: 8 }, (_, i) =>
      [
        'apiVersion: bench.example.com/v1',
        'kind: Foo',
        `metadata: { name: z${i}, namespace: tenant-z }`,
        'status: { conditions: [{ type: Ready, status: "True", reason: Done, lastTransitionTime: "2026-01-01T00:00:00Z" }] }',
      ].join('\n'),
    ).join('\n---\n');
    await ok(['apply', '-f', '-'], tenantFoos);
    await ok(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
    const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'bridge');
    // Backups and CRDs only; widgets stay forbidden.
    // prettier-ignore
    await ok(['create', 'clusterrole', 'bridge', '--verb=get,list,watch',
      '--resource=backups.backup.example.com,foos.bench.example.com,customresourcedefinitions.apiextensions.k8s.io']);
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
      // Five health series per Foo: team-a's four fit, tenant-z's eight do not.
      extraArgs: [`--kubeconfig=${kubeconfig}`, '--limits.namespace-series=30'],
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

    // Custom resources in trouble. "db" failed; "slow" has waited for two hours.
    const now = Date.now();
    await ok(['apply', '-f', '-'], foo('db', 'False', 'InstallFailed', new Date(now - 60_000)));
    await ok(['apply', '-f', '-'], foo('slow', 'False', 'Waiting', new Date(now - 2 * 3600_000)));
    // "web" is created progressing and seen becoming healthy (a time to healthy), then leaves
    // healthy 7 times. Prometheus sees the counter at 1 before the other 6, so that increase()
    // over the hour has two samples 6 apart.
    const b = bridge;
    const step = async (ready: 'True' | 'False', expected: string, at: Date): Promise<void> => {
      await ok(['apply', '-f', '-'], foo('web', ready, ready === 'True' ? 'Done' : 'Waiting', at));
      await until(`Foo web ${expected}`, async () => healthOf((await b.scrape()).body, 'web') === expected);
    };
    let second = 0;
    const tick = (): Date => new Date(now + ++second * 1000);
    await step('False', 'progressing', tick());
    await step('True', 'healthy', tick());
    await step('False', 'progressing', tick());
    await prometheus.waitForSeries(
      `kube_customresource_health_transitions_total{job="${JOB}",from="healthy"}`,
      (s) => s.length === 1 && s[0]!.value[1] === '1',
      20_000,
    );
    for (let flip = 0; flip < 6; flip++) {
      await step('True', 'healthy', tick());
      await step('False', 'progressing', tick());
    }
    await step('True', 'healthy', tick());
    // A histogram's series starts with its first observation, which rate() cannot see; a second
    // Foo becoming healthy once Prometheus has the first gives the quantiles something to show.
    await prometheus.waitForSeries(
      `kube_customresource_time_to_healthy_seconds_count{job="${JOB}"}`,
      (s) => s.length === 1 && s[0]!.value[1] === '1',
      20_000,
    );
    await ok(['apply', '-f', '-'], foo('api', 'False', 'Waiting', tick()));
    await until(
      'Foo api progressing',
      async () => healthOf((await b.scrape()).body, 'api') === 'progressing',
    );
    await ok(['apply', '-f', '-'], foo('api', 'True', 'Done', tick()));
    await until('Foo api healthy', async () => healthOf((await b.scrape()).body, 'api') === 'healthy');
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
    for (const health of [
      'kube_customresource_health',
      'kube_customresource_health_last_transition_timestamp_seconds',
      'kube_customresource_health_transitions_total',
      'kube_customresource_time_to_healthy_seconds_bucket',
    ])
      assert.ok(names.has(health), `the mixin does not use ${health}`);
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
    assert.deepEqual(await pending('CrdMetricsBridgeBudgetFull', 'object_namespace'), ['tenant-z']);
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

  it('the health alert expressions pick out the degraded, the stuck and the flapping Foos', async () => {
    const exprOf = (alert: string): string => {
      const rule = alertRules().find((r) => r.alert === alert);
      assert.ok(rule, alert);
      return rule.expr;
    };
    const selected = async (alert: string): Promise<Record<string, string>[]> =>
      (await prometheus.waitForSeries(exprOf(alert), (s) => s.length > 0, 30_000)).map((s) => s.metric);
    const identity = (m: Record<string, string>): string =>
      [
        m['customresource_group'],
        m['customresource_version'],
        m['customresource_kind'],
        m['namespace'],
        m['name'],
      ].join(' ');
    assert.deepEqual((await selected('CustomResourceDegraded')).map(identity), [
      'bench.example.com v1 Foo team-a db',
    ]);
    const stuck = await prometheus.waitForSeries(
      exprOf('CustomResourceStuckProgressing'),
      (s) => s.length > 0,
      30_000,
    );
    assert.deepEqual(
      stuck.map((s) => identity(s.metric)),
      ['bench.example.com v1 Foo team-a slow'],
    );
    // Its value is the time in the state: two hours since the condition's lastTransitionTime.
    const stuckFor = Number(stuck[0]!.value[1]);
    assert.ok(stuckFor > 7000 && stuckFor < 7200 + 600, `progressing for ${stuckFor} s`);
    const flapping = await selected('CustomResourceFlapping');
    assert.deepEqual(
      flapping.map((m) =>
        [m['job'], m['namespace'], m['customresource_group'], m['customresource_kind']].join(' '),
      ),
      [`${JOB} team-a bench.example.com Foo`],
    );
  });

  it("the dashboard's health row queries run and show the Foos", async () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(repoRoot, 'mixin/dashboards/crd-metrics-bridge.json'), 'utf8'),
    ) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };
    const row = dashboard.panels.findIndex((p) => p.type === 'row' && p.title === 'Custom resource health');
    assert.ok(row >= 0, 'no "Custom resource health" row');
    const panels = dashboard.panels.slice(row + 1);
    const end = panels.findIndex((p) => p.type === 'row');
    const health = Object.fromEntries(
      (end < 0 ? panels : panels.slice(0, end)).map((p) => [
        p.title,
        (p.targets ?? []).map((t) => t.expr.replaceAll('$job', JOB).replaceAll('$__rate_interval', '1m')),
      ]),
    );
    assert.deepEqual(Object.keys(health).sort(), [
      'Degraded objects',
      'Health transitions per hour',
      'Objects by state',
      'Progressing objects',
      'Time to healthy',
    ]);
    // The values that settle: a Foo that just left a state may still show in it until the next
    // scrape (api was progressing a moment ago).
    const labelsOf = async (expr: string, label: string, expected?: string[]): Promise<string[]> => {
      const values = (series: { metric: Record<string, string> }[]) =>
        series.map((s) => s.metric[label] ?? '').sort();
      return values(
        await prometheus.waitForSeries(
          expr,
          (s) => s.length > 0 && (!expected || JSON.stringify(values(s)) === JSON.stringify(expected)),
          30_000,
        ),
      );
    };
    assert.deepEqual(await labelsOf(health['Objects by state']![0]!, 'state'), [
      'degraded',
      'healthy',
      'progressing',
    ]);
    assert.deepEqual(await labelsOf(health['Degraded objects']![0]!, 'name', ['db']), ['db']);
    assert.deepEqual(await labelsOf(health['Progressing objects']![0]!, 'name', ['slow']), ['slow']);
    const transitions = await prometheus.waitForSeries(
      health['Health transitions per hour']![0]!,
      (s) => s.length === 2,
      30_000,
    );
    assert.deepEqual(transitions.map((s) => `${s.metric['from']}→${s.metric['to']}`).sort(), [
      'healthy→progressing',
      'progressing→healthy',
    ]);
    // One Foo seen becoming healthy: every quantile is a number of seconds.
    for (const expr of health['Time to healthy']!) {
      const quantiles = await prometheus.waitForSeries(expr, (s) => s.length === 1, 30_000);
      const seconds = Number(quantiles[0]!.value[1]);
      assert.ok(Number.isFinite(seconds) && seconds > 0, `${expr}: ${seconds}`);
    }
  });
});
