// Health from the watch stream, against a real kube-apiserver: a Foo whose Ready condition goes
// False → True → False → True is counted as two progressing→healthy and one healthy→progressing
// transitions, timed to healthy once, and the counts outlive the Foo. The bridge pushes the same
// by OTLP into Prometheus 3 (the histogram as a native histogram) while Prometheus scrapes it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle, KubectlResult } from '../harness/kubeApiserver.ts';
import { freePort } from '../harness/ports.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';
import { until } from '../support/until.ts';

const CONFIG = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: { group: bench.example.com, version: v1, kind: Foo }
      health: {}
      conditions: {}
`;
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

function foo(ready: 'True' | 'False', transitionAt: string): string {
  return [
    'apiVersion: bench.example.com/v1',
    'kind: Foo',
    'metadata: { name: web, namespace: team-a }',
    'spec: { replicas: 1 }',
    'status:',
    '  conditions:',
    `  - { type: Ready, status: "${ready}", lastTransitionTime: "${transitionAt}", reason: Test }`,
  ].join('\n');
}

/** The value of the one sample whose line starts with `prefix` and contains every `part`. */
function value(body: string, prefix: string, ...parts: string[]): number | undefined {
  const lines = samples(body, prefix).filter((l) => parts.every((p) => l.includes(p)));
  if (lines.length > 1)
    assert.fail(`several samples match ${prefix} ${parts.join(' ')}:\n${lines.join('\n')}`);
  return lines[0] === undefined ? undefined : Number(lines[0].slice(lines[0].lastIndexOf(' ') + 1));
}

function state(body: string): string | undefined {
  return samples(body, 'kube_customresource_health{')
    .find((l) => l.endsWith(' 1'))
    ?.match(/state="(\w+)"/)?.[1];
}

describe('health and transitions on a real kube-apiserver', () => {
  let api: KubeApiserverHandle;
  let bridge: BridgeHandle | undefined;
  let prometheus: PrometheusHandle | undefined;
  let work: string;
  const kubectl = async (args: string[], input?: string): Promise<KubectlResult> => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-health-'));
    api = await startKubeApiserver();
    // Without the status subresource, `apply` sets status too (the test plays the controller).
    const crd = readFileSync(
      path.join(repoRoot, 'examples', 'aggregations', 'foos-crd.yaml'),
      'utf8',
    ).replace('      subresources: { status: {} }\n', '');
    await kubectl(['apply', '-f', '-'], crd);
    await kubectl(['wait', '--for=condition=Established', 'crd/foos.bench.example.com', '--timeout=30s']);
    await kubectl(['create', 'namespace', 'team-a']);
    writeFileSync(path.join(work, 'config.yaml'), CONFIG);
  });

  after(async () => {
    await prometheus?.stop();
    await bridge?.stop();
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('False → True → False → True counts 2 + 1 transitions and one time to healthy, on both paths', async () => {
    const otlpPort = await freePort();
    bridge = await startBridge({
      config: path.join(work, 'config.yaml'),
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${api.adminKubeconfigPath}`],
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${otlpPort}/api/v1/otlp/v1/metrics`,
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_SERVICE_NAME: 'pushed',
        OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=bridge-0',
      },
    });
    const b = bridge;
    const prom = await startPrometheus({
      port: otlpPort,
      scrapeTargets: [b.address],
      jobName: 'scraped',
      honorLabels: true,
      otlp: { translation_strategy: 'NoUTF8EscapingWithSuffixes' },
    });
    prometheus = prom;

    // Before any Foo: the families are announced, with no series yet.
    const empty = (await b.scrape()).body;
    assert.match(empty, /^# TYPE kube_customresource_health_transitions_total counter$/m);
    assert.match(empty, /^# TYPE kube_customresource_time_to_healthy_seconds histogram$/m);

    const steps: ['True' | 'False', string, string][] = [
      ['False', '2026-12-01T10:00:00Z', 'progressing'],
      ['True', '2026-12-01T10:01:00Z', 'healthy'],
      ['False', '2026-12-01T10:02:00Z', 'progressing'],
      ['True', '2026-12-01T10:03:00Z', 'healthy'],
    ];
    for (const [ready, at, expected] of steps) {
      await kubectl(['apply', '-f', '-'], foo(ready, at));
      await until(`the Foo to be ${expected} (Ready=${ready} at ${at})`, async () => {
        const body = (await b.scrape()).body;
        return state(body) === expected &&
          value(body, 'kube_customresource_health_last_transition_timestamp_seconds{') ===
            Date.parse(at) / 1000
          ? true
          : undefined;
      });
    }

    const body = (await b.scrape()).body;
    const counter = 'kube_customresource_health_transitions_total{';
    const identity = [
      'namespace="team-a"',
      'customresource_kind="Foo"',
      'customresource_group="bench.example.com"',
    ];
    assert.equal(value(body, counter, ...identity, 'from="progressing"', 'to="healthy"'), 2);
    assert.equal(value(body, counter, ...identity, 'from="healthy"', 'to="progressing"'), 1);
    assert.equal(samples(body, counter).length, 2, samples(body, counter).join('\n'));
    assert.ok(!samples(body, counter).some((l) => l.includes('name=')), 'no name label on the counter');
    assert.equal(value(body, 'kube_customresource_time_to_healthy_seconds_count{', ...identity), 1);
    assert.equal(value(body, 'kube_customresource_time_to_healthy_seconds_bucket{', 'le="+Inf"'), 1);
    assertPromtoolAccepts(body);
    const om = await b.scrape(OPENMETRICS);
    assert.match(om.contentType, /openmetrics/);
    assert.match(om.body, /^# TYPE kube_customresource_health_transitions counter$/m);
    const created = value(om.body, 'kube_customresource_health_transitions_created{', 'from="healthy"');
    assert.ok(created !== undefined && Math.abs(created - Date.now() / 1000) < 600, `_created ${created}`);
    assertOpenMetricsAccepts([om.body]);

    // The Foo goes: its own series go, the resource's counts stay.
    await kubectl(['delete', 'foos.bench.example.com', '-n', 'team-a', 'web']);
    const afterDelete = await until('the Foo to be gone', async () => {
      const r = (await b.scrape()).body;
      return samples(r, 'kube_customresource_health{').length === 0 ? r : undefined;
    });
    assert.equal(value(afterDelete, counter, 'from="progressing"', 'to="healthy"'), 2);
    assert.equal(value(afterDelete, counter, 'from="healthy"', 'to="progressing"'), 1);
    assert.equal(value(afterDelete, 'kube_customresource_time_to_healthy_seconds_count{'), 1);

    // The same counts, scraped and pushed, in Prometheus 3.
    for (const job of ['scraped', 'pushed']) {
      const transitions = await prom.waitForSeries(
        `kube_customresource_health_transitions_total{job="${job}"}`,
        (s) => s.length === 2,
        30_000,
      );
      const byPair = Object.fromEntries(
        transitions.map((s) => [`${s.metric.from}→${s.metric.to}`, Number(s.value[1])]),
      );
      assert.deepEqual(byPair, { 'progressing→healthy': 2, 'healthy→progressing': 1 }, job);
      for (const s of transitions) assert.equal(s.metric.customresource_kind, 'Foo', job);
    }
    const scrapedCount = await prom.waitForSeries(
      'kube_customresource_time_to_healthy_seconds_count{job="scraped"}',
    );
    assert.equal(Number(scrapedCount[0]!.value[1]), 1);
    const pushedCount = await prom
      .waitForSeries(
        'histogram_count(kube_customresource_time_to_healthy_seconds{job="pushed"})',
        undefined,
        30_000,
      )
      .catch(async (err: Error) => {
        const names = await prom.query('count by (__name__) ({job="pushed", __name__=~".*health.*"})');
        throw new Error(
          `${err.message.split('\n')[0]}; pushed: ${names.map((s) => s.metric.__name__).join(', ')}`,
        );
      });
    assert.equal(pushedCount.length, 1, JSON.stringify(pushedCount));
    assert.equal(Number(pushedCount[0]!.value[1]), 1);
  });
});
