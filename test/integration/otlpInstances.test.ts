// Two replicas pushing OTLP into one real Prometheus 3, with nothing setting service.instance.id:
// each process gets its own (a random UUID, as the OpenTelemetry SDK's detector makes), so their
// series stay apart by `instance` instead of merging into one series whose counter goes
// 1, 2, 1, 2, ...
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { freePort } from '../harness/ports.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';

const JOB = 'crd-metrics-bridge';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('two bridges pushing OTLP with no service.instance.id set', () => {
  let dir: string;
  let prometheus: PrometheusHandle;
  let bridges: BridgeHandle[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-otlp-instances-'));
    // One object for the first bridge, two for the second: their counters differ.
    const backup = readFileSync(path.join(repoRoot, 'examples/backup/backup.yaml'), 'utf8');
    for (const [name, count] of [
      ['one', 1],
      ['two', 2],
    ] as const) {
      mkdirSync(path.join(dir, name));
      for (let i = 0; i < count; i++)
        writeFileSync(path.join(dir, name, `b${i}.yaml`), backup.replace(/name: \S+/, `name: backup-${i}`));
    }
    cpSync(path.join(repoRoot, 'examples/backup/config.yaml'), path.join(dir, 'config.yaml'));
    const port = await freePort();
    prometheus = await startPrometheus({ port, scrapeTargets: [], otlp: {} });
    const env = {
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: prometheus.otlpMetricsUrl,
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_SERVICE_NAME: JOB,
      OTEL_RESOURCE_ATTRIBUTES: '',
    };
    bridges = await Promise.all(
      ['one', 'two'].map((name) =>
        startBridge({ config: path.join(dir, 'config.yaml'), source: `files:${path.join(dir, name)}`, env }),
      ),
    );
  });

  after(async () => {
    await Promise.allSettled(bridges.map((b) => b.stop()));
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each process pushes under its own instance (a UUID), and its counters never go down', async () => {
    const events = `crd_metrics_bridge_object_events_total{job="${JOB}",outcome="upserted"}`;
    const series = await prometheus.waitForSeries(events, (s) => s.length === 2, 30_000);
    const instances = series.map((s) => s.metric.instance!);
    assert.notEqual(instances[0], instances[1]);
    for (const instance of instances) assert.match(instance, UUID);
    assert.deepEqual(series.map((s) => s.value[1]).sort(), ['1', '2']);
    // Several pushes later, neither series has ever dropped back (merged, they would alternate).
    await prometheus.waitForSeries(`count_over_time(${events}[1m]) >= 6`, (s) => s.length === 2, 30_000);
    const resets = await prometheus.query(`resets(${events}[1m])`);
    assert.deepEqual(
      resets.map((s) => s.value[1]),
      ['0', '0'],
    );
    const custom = await prometheus.waitForSeries(
      `count by (instance) (backup_size_bytes{job="${JOB}"})`,
      (s) => s.length === 2,
    );
    assert.deepEqual(custom.map((s) => s.value[1]).sort(), ['1', '2']);
  });
});
