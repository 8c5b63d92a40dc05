import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { otlpPushEnv, startCollector } from '../harness/collector.ts';
import type { CollectorHandle } from '../harness/collector.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import { seriesSet } from '../support/seriesSet.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';
import { edgeConfig, edgeObject } from '../support/edgeFixtures.ts';

const INTERVAL_MS = 1000;
const PUSH_JOB = 'crd-metrics-bridge';

describe('through the Collector: prometheusremotewrite into Prometheus 3 (otel-config/collector-remote-write.yaml)', () => {
  let dir: string;
  let prometheus: PrometheusHandle;
  let collector: CollectorHandle;
  let bridge: BridgeHandle;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-prw-'));
    mkdirSync(path.join(dir, 'objects'));
    writeFileSync(path.join(dir, 'config.yaml'), edgeConfig());
    writeFileSync(path.join(dir, 'objects', 'a.yaml'), edgeObject('a', 1048576));
    writeFileSync(path.join(dir, 'objects', 'b.yaml'), edgeObject('b', 2048, 'Failed'));
    prometheus = await startPrometheus({ scrapeTargets: [], remoteWriteReceiver: true });
    collector = await startCollector({
      configFile: path.join(repoRoot, 'otel-config', 'collector-remote-write.yaml'),
      env: { REMOTE_WRITE_URL: prometheus.remoteWriteUrl },
      prometheusExporter: false,
    });
    bridge = await startBridge({
      config: path.join(dir, 'config.yaml'),
      source: `files:${path.join(dir, 'objects')}`,
      env: otlpPushEnv(collector, INTERVAL_MS, {
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_SERVICE_NAME: PUSH_JOB,
        OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=bridge-0',
      }),
    });
  });

  after(async () => {
    await bridge?.stop();
    await collector?.stop();
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the same names, labels and values as /metrics, with no otel_scope_* labels', async () => {
    const body = (await bridge.scrape()).body;
    for (const [family, n] of [
      ['edge_size_bytes', 2],
      ['edge_phase', 4],
      ['edge_info', 2],
    ] as const) {
      const pushed = await prometheus.waitForSeries(
        `${family}{job="${PUSH_JOB}"}`,
        (s) => s.length === n,
        20_000,
      );
      const ours = samples(body, `${family}{`)
        .map((line) => {
          const m = /^([^{]+)\{(.*)\} (\S+)$/.exec(line)!;
          const labels = [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
            .map(([, k, v]) => `${k}=${JSON.stringify(JSON.parse(`"${v}"`))}`)
            .sort()
            .join(',');
          return `${m[1]}{${labels}} ${Number(m[3])}`;
        })
        .sort();
      // Prometheus' remote-write receiver stores what the exporter translated: the exporter's
      // default prefixes a label starting with one `_` with `key` (as Prometheus' OTLP receiver).
      const renamed = seriesSet(pushed, (k) => (/^key_[^_]/.test(k) ? k.slice('key'.length) : k));
      assert.deepEqual(renamed, ours, family);
      assert.ok(pushed.every((s) => !Object.keys(s.metric).some((k) => k.startsWith('otel_scope'))));
      assert.equal(pushed[0]!.metric.instance, 'bridge-0');
    }
    await prometheus.waitForSeries(`target_info{job="${PUSH_JOB}"}`);
  });

  it('a deleted object’s series end at once (the NoRecordedValue flag becomes a staleness marker)', async () => {
    await prometheus.waitForSeries(`count(edge_size_bytes{job="${PUSH_JOB}"}) == 2`);
    rmSync(path.join(dir, 'objects', 'b.yaml'));
    await until('the bridge to drop b', async () =>
      samples((await bridge.scrape()).body, 'edge_size_bytes').length === 1 ? true : undefined,
    );
    const gone = Date.now();
    await prometheus.waitForSeries(`count(edge_size_bytes{job="${PUSH_JOB}"}) == 1`, undefined, 10_000);
    const took = Date.now() - gone;
    assert.ok(took <= 2 * INTERVAL_MS + 1000, `pushed series gone after ${took} ms`);
  });
});
