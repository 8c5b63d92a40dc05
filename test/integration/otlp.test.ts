import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { otlpPushEnv, startCollector } from '../harness/collector.ts';
import type { CollectorHandle } from '../harness/collector.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';

interface OtlpDataPoint {
  attributes?: { key: string; value: { stringValue?: string } }[];
  asDouble?: number;
  asInt?: string;
}
interface OtlpMetric {
  name: string;
  gauge?: { dataPoints: OtlpDataPoint[] };
}
interface OtlpDocument {
  resourceMetrics?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeMetrics?: { scope?: { name?: string }; metrics?: OtlpMetric[] }[];
  }[];
}

/** The last pushed data points of a metric, as `name=value` per object, from the Collector's file export. */
function lastPush(documents: unknown[], metric: string): Map<string, number> | undefined {
  for (let i = documents.length - 1; i >= 0; i--) {
    const doc = documents[i] as OtlpDocument;
    for (const rm of doc.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        const m = sm.metrics?.find((x) => x.name === metric);
        if (!m) continue;
        const out = new Map<string, number>();
        for (const dp of m.gauge?.dataPoints ?? []) {
          const name = dp.attributes?.find((a) => a.key === 'name')?.value.stringValue ?? '?';
          out.set(name, dp.asDouble ?? Number(dp.asInt));
        }
        return out;
      }
    }
  }
  return undefined;
}

function backupYaml(name: string, size: number): string {
  return `apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: ${name}, namespace: default }
spec: { target: "s3://bucket/${name}" }
status: { phase: Completed, sizeBytes: ${size}, startTime: "2026-02-09T10:00:00Z", endTime: "2026-02-09T10:05:00Z" }
`;
}

/** Series lines of the backup families, without labels the Collector adds from the resource. */
function normalise(exposition: string): string[] {
  return samples(exposition, 'backup_')
    .map((l) => l.replace(/,?(job|instance)="[^"]*"/g, '').replace('{,', '{'))
    .map((l) => {
      // Label order may differ between exporters; compare sorted label sets.
      const m = /^([^{ ]+)\{(.*)\} (.*)$/.exec(l);
      if (!m) return l;
      const labels = m[2]!.match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? [];
      return `${m[1]}{${labels.sort().join(',')}} ${Number(m[3])}`;
    })
    .sort();
}

describe('a real OpenTelemetry Collector receives the OTLP push', () => {
  let dir: string;
  let collector: CollectorHandle;
  let bridge: BridgeHandle;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-otlp-'));
    writeFileSync(path.join(dir, 'a.yaml'), backupYaml('a', 1048576));
    writeFileSync(path.join(dir, 'b.yaml'), backupYaml('b', 2048));
    collector = await startCollector();
    bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: `files:${dir}`,
      env: otlpPushEnv(collector, 500, {
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        OTEL_SERVICE_NAME: 'bridge-under-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
      }),
    });
  });

  after(async () => {
    await bridge?.stop();
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes the custom resource series with their attributes and the resource', async () => {
    const docs = await collector.waitForFileExport(
      (d) => lastPush(d, 'backup_size_bytes')?.size === 2,
      20_000,
    );
    assert.deepEqual([...lastPush(docs, 'backup_size_bytes')!].sort(), [
      ['a', 1048576],
      ['b', 2048],
    ]);
    assert.deepEqual([...lastPush(docs, 'backup_duration_seconds')!].sort(), [
      ['a', 300],
      ['b', 300],
    ]);
    const doc = JSON.stringify(docs.at(-1));
    assert.match(doc, /"service.name","value":\{"stringValue":"bridge-under-test"\}/);
    assert.match(doc, /"deployment.environment","value":\{"stringValue":"test"\}/);
    assert.match(doc, /crd_metrics_bridge_cached_objects/);
  });

  it("the Collector's prometheus exporter re-exposes the same names, labels and values as our endpoint", async () => {
    const ours = normalise((await bridge.scrape()).body);
    assert.equal(ours.length, 6);
    let theirs: string[] = [];
    for (let i = 0; i < 40; i++) {
      theirs = normalise((await httpRequest(`${collector.prometheusUrl}/metrics`)).body);
      if (theirs.length === ours.length) break;
      await delay(250);
    }
    assert.deepEqual(theirs, ours);
  });

  it('a deleted object disappears from the next push', async () => {
    rmSync(path.join(dir, 'b.yaml'));
    await collector.waitForFileExport((d) => {
      const last = lastPush(d, 'backup_size_bytes');
      return last !== undefined && last.size === 1 && last.has('a');
    }, 20_000);
  });

  it("deleted objects leave the Collector's prometheus exporter at once (markers), not after metric_expiration", async () => {
    const exposed = async () =>
      samples((await httpRequest(`${collector.prometheusUrl}/metrics`)).body, 'backup_size_bytes');
    writeFileSync(path.join(dir, 'c.yaml'), backupYaml('c', 3));
    writeFileSync(path.join(dir, 'd.yaml'), backupYaml('d', 4));
    await until('c and d re-exposed by the Collector', async () => (await exposed()).length === 3);
    // Two deletions in one export: each marker must reach the exporter (it reads only the first
    // NoRecordedValue point of a metric message, so the bridge sends one message per marker).
    rmSync(path.join(dir, 'c.yaml'));
    rmSync(path.join(dir, 'd.yaml'));
    await until(
      'c and d gone from the Collector',
      async () => {
        const lines = await exposed();
        return lines.length === 1 && lines[0]!.includes('name="a"');
      },
      10_000,
    );
  });

  it('keeps serving and recovers by itself when the Collector goes away and comes back', async () => {
    const endpoint = collector.otlpHttpEndpoint;
    await collector.stop();
    await delay(3000);
    const during = await bridge.scrape();
    assert.equal(during.status, 200);
    assert.equal(samples(during.body, 'backup_size_bytes').length, 1);
    const self = await httpRequest(`${bridge.telemetryUrl}/metrics`);
    assert.match(self.body, /crd_metrics_bridge_otlp_exports_total\{result="failure"\} [1-9]/);
    assert.match(bridge.log(), /OTLP export failing/);
    // One warning for the outage, not one per failed export.
    assert.equal(bridge.log().match(/OTLP export failing/g)?.length, 1);
    // A new Collector on the same address: pushes resume with no restart of the bridge.
    collector = await startCollector({ otlpHttpEndpoint: endpoint });
    await collector.waitForFileExport((d) => lastPush(d, 'backup_size_bytes')?.get('a') === 1048576, 30_000);
    assert.match(bridge.log(), /OTLP export recovered/);
  });
});

describe('OTEL_CONFIG_FILE (declarative configuration) sets up both readers', () => {
  it('serves the pull endpoint where the file says and pushes OTLP/JSON to the Collector', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-decl-'));
    writeFileSync(path.join(dir, 'a.yaml'), backupYaml('a', 77));
    const collector = await startCollector();
    const { freePort } = await import('../harness/ports.ts');
    const port = await freePort();
    const { startProcess, makePeerDir, removePeerDir } = await import('../harness/processes.ts');
    const logDir = makePeerDir('bridge-decl');
    const proc = await startProcess({
      name: 'crd-metrics-bridge',
      command: process.execPath,
      args: [
        path.join(repoRoot, 'bin/crd-metrics-bridge.js'),
        'run',
        '--config=examples/backup/config.yaml',
        `--source=files:${dir}`,
        '--telemetry.listen-address=',
      ],
      cwd: repoRoot,
      env: {
        ...process.env,
        OTEL_CONFIG_FILE: path.join(repoRoot, 'otel-config/bridge-declarative.yaml'),
        BRIDGE_PROMETHEUS_HOST: '127.0.0.1',
        BRIDGE_PROMETHEUS_PORT: String(port),
        OTLP_METRICS_ENDPOINT: `${collector.otlpHttpEndpoint}/v1/metrics`,
        OTLP_ENCODING: 'json',
        OTEL_METRIC_EXPORT_INTERVAL: '500',
        OTEL_SERVICE_NAME: 'declarative-bridge',
      },
      logDir,
      ready: { url: `http://127.0.0.1:${port}/readyz` },
    });
    try {
      const scrape = await httpRequest(`http://127.0.0.1:${port}/metrics`);
      assert.deepEqual(samples(scrape.body, 'backup_size_bytes'), [
        'backup_size_bytes{namespace="default",name="a",target="s3://bucket/a"} 77',
      ]);
      const docs = await collector.waitForFileExport(
        (d) => lastPush(d, 'backup_size_bytes')?.get('a') === 77,
        20_000,
      );
      assert.match(
        JSON.stringify(docs.at(-1)),
        /"service.name","value":\{"stringValue":"declarative-bridge"\}/,
      );
    } finally {
      await proc.stop();
      await collector.stop();
      removePeerDir(logDir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
