import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../harness/ports.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle, VectorSample } from '../harness/prometheus.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import { seriesSet } from '../support/seriesSet.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';
import { EDGE_FAMILIES, edgeConfig, edgeObject } from '../support/edgeFixtures.ts';

const INTERVAL_MS = 1000;
const PUSH_JOB = 'crd-metrics-bridge';

interface Setup {
  dir: string;
  config: string;
  bridge: BridgeHandle;
  prometheus: PrometheusHandle;
}

/** A bridge that both serves /metrics (scraped with honor_labels) and pushes OTLP into one Prometheus 3. */
async function pushAndScrape(translationStrategy: string | undefined): Promise<Setup> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridge-otlp-prom-'));
  const objects = path.join(dir, 'objects');
  const config = path.join(dir, 'config.yaml');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(objects);
  writeFileSync(config, edgeConfig());
  writeFileSync(path.join(objects, 'a.yaml'), edgeObject('a', 1048576));
  writeFileSync(path.join(objects, 'b.yaml'), edgeObject('b', 2048, 'Failed'));
  const port = await freePort();
  const bridge = await startBridge({
    config,
    source: `files:${objects}`,
    env: {
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${port}/api/v1/otlp/v1/metrics`,
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
      OTEL_SERVICE_NAME: PUSH_JOB,
      OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=bridge-0',
    },
  });
  const prometheus = await startPrometheus({
    port,
    scrapeTargets: [bridge.address],
    jobName: 'scraped',
    honorLabels: true,
    otlp: translationStrategy ? { translation_strategy: translationStrategy } : {},
  });
  return { dir, config, bridge, prometheus };
}

async function teardown(s: Setup | undefined): Promise<void> {
  await s?.prometheus.stop();
  await s?.bridge.stop();
  if (s) rmSync(s.dir, { recursive: true, force: true });
}

/** Both jobs' series of one family, once both have the expected number. */
async function bothPaths(
  p: PrometheusHandle,
  family: string,
  n: number,
): Promise<[VectorSample[], VectorSample[]]> {
  const scraped = await p.waitForSeries(`${family}{job="scraped"}`, (s) => s.length === n, 20_000);
  const pushed = await p.waitForSeries(`${family}{job="${PUSH_JOB}"}`, (s) => s.length === n, 20_000);
  return [scraped, pushed];
}

describe('Prometheus 3 OTLP receiver, default translation (UnderscoreEscapingWithSuffixes)', () => {
  let s: Setup | undefined;
  before(async () => {
    s = await pushAndScrape(undefined);
  });
  after(() => teardown(s));

  it('pushed and scraped series are the same per family: names, labels, values', async () => {
    const p = s!.prometheus;
    // Prometheus' OTLP translation prefixes a label that starts with one `_` with `key`
    // (otlp.label_name_underscore_sanitization, default true); nothing else differs.
    const underscore = (l: string) => (/^_[^_]/.test(l) ? `key${l}` : l);
    for (const [family, n] of [
      ['edge_size_bytes', 2],
      ['edge_phase', 4],
      ['edge_info', 2],
    ] as const) {
      const [scraped, pushed] = await bothPaths(p, family, n);
      assert.deepEqual(seriesSet(pushed), seriesSet(scraped, underscore), family);
    }
    const [, pushed] = await bothPaths(p, 'edge_size_bytes', 2);
    assert.equal(pushed[0]!.metric.instance, 'bridge-0', 'instance from service.instance.id');
    assert.ok(pushed[0]!.metric.key_1st, 'leading digit: _1st on pull, key_1st on push');
    const info = await p.waitForSeries(`target_info{job="${PUSH_JOB}"}`);
    assert.equal(info[0]!.metric.service_name, undefined, 'service.name is the job, not a label');
    // No unit or type suffix was added to any of our names.
    const names = await p.query(`count by (__name__) ({job="${PUSH_JOB}", __name__=~"edge_.*"})`);
    assert.deepEqual(names.map((x) => x.metric.__name__).sort(), [
      'edge_info',
      'edge_phase',
      'edge_size_bytes',
    ]);
  });

  it('a deleted object leaves the pushed series within two export intervals (staleness marker)', async () => {
    const { prometheus: p, bridge, dir } = s!;
    await bothPaths(p, 'edge_size_bytes', 2);
    rmSync(path.join(dir, 'objects', 'b.yaml'));
    await until('the bridge to drop b', async () =>
      samples((await bridge.scrape()).body, 'edge_size_bytes').length === 1 ? true : undefined,
    );
    const gone = Date.now();
    await p.waitForSeries(`count(edge_size_bytes{job="${PUSH_JOB}"}) == 1`, undefined, 10_000);
    const took = Date.now() - gone;
    assert.ok(took <= 2 * INTERVAL_MS + 500, `pushed series gone after ${took} ms`);
    assert.deepEqual(
      (await p.query(`edge_phase{job="${PUSH_JOB}", name="b"}`)).length,
      0,
      'every family of the object',
    );
    // Without the marker the series would have stayed for the 5-minute lookback.
  });

  it('a reload that drops a family ends its pushed series within two export intervals', async () => {
    const { prometheus: p, bridge, config } = s!;
    await p.waitForSeries(`edge_info{job="${PUSH_JOB}"}`);
    writeFileSync(config, edgeConfig(EDGE_FAMILIES));
    process.kill(bridge.process.pid, 'SIGHUP');
    await until('the reload', async () =>
      samples((await bridge.scrape()).body, 'edge_info').length === 0 ? true : undefined,
    );
    const reloaded = Date.now();
    await p.waitForSeries(`absent(edge_info{job="${PUSH_JOB}"})`, undefined, 10_000);
    const took = Date.now() - reloaded;
    assert.ok(took <= 2 * INTERVAL_MS + 500, `dropped family gone after ${took} ms`);
    assert.equal((await p.query(`edge_size_bytes{job="${PUSH_JOB}"}`)).length, 1, 'the kept family stays');
  });
});

describe('Prometheus 3 OTLP receiver, NoUTF8EscapingWithSuffixes', () => {
  let s: Setup | undefined;
  before(async () => {
    s = await pushAndScrape('NoUTF8EscapingWithSuffixes');
  });
  after(() => teardown(s));

  it('pushed and scraped series are identical per family', async () => {
    for (const [family, n] of [
      ['edge_size_bytes', 2],
      ['edge_phase', 4],
      ['edge_info', 2],
    ] as const) {
      const [scraped, pushed] = await bothPaths(s!.prometheus, family, n);
      assert.deepEqual(seriesSet(pushed), seriesSet(scraped), family);
    }
  });
});

describe('cluster identity: two bridges ("two clusters") push the same objects into one Prometheus', () => {
  it('their series stay apart by k8s_cluster_name (promote_resource_attributes)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-clusters-'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'objects'));
    writeFileSync(path.join(dir, 'config.yaml'), edgeConfig());
    writeFileSync(path.join(dir, 'objects', 'a.yaml'), edgeObject('a', 1));
    writeFileSync(path.join(dir, 'objects', 'b.yaml'), edgeObject('b', 2));
    const prometheus = await startPrometheus({
      scrapeTargets: [],
      otlp: { promote_resource_attributes: ['k8s.cluster.name'] },
    });
    const env = {
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: prometheus.otlpMetricsUrl,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
      OTEL_SERVICE_NAME: PUSH_JOB,
    };
    const common = { config: path.join(dir, 'config.yaml'), source: `files:${path.join(dir, 'objects')}` };
    // Same job, no service.instance.id: only the cluster name tells them apart.
    const east = await startBridge({
      ...common,
      env: { ...env, OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=overridden' },
      extraArgs: ['--cluster-name=east'],
    });
    const west = await startBridge({
      ...common,
      env: { ...env, OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=west' },
    });
    try {
      const byCluster = await prometheus.waitForSeries(
        `count by (k8s_cluster_name) (edge_size_bytes{job="${PUSH_JOB}"})`,
        (r) => r.length === 2 && r.every((x) => x.value[1] === '2'),
      );
      assert.deepEqual(byCluster.map((x) => x.metric.k8s_cluster_name).sort(), ['east', 'west']);
      // The pull endpoint is unchanged (no cluster label), as kube-state-metrics'.
      assert.doesNotMatch((await east.scrape()).body, /cluster/);
    } finally {
      await east.stop();
      await west.stop();
      await prometheus.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
