import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';
import { startRecordingProxy } from '../support/recordingProxy.ts';
import type { RecordingProxy } from '../support/recordingProxy.ts';
import { runCli } from '../support/runCli.ts';

function backupYaml(name: string, size: number, phase = 'Completed'): string {
  return `apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: ${name}, namespace: default }
spec: { target: "s3://bucket/${name}" }
status:
  phase: ${phase}
  sizeBytes: ${size}
  startTime: "2026-02-09T10:00:00Z"
  endTime: "2026-02-09T10:05:00Z"
`;
}

describe('a real Prometheus scrapes the bridge (files source)', () => {
  let dir: string;
  let bridge: BridgeHandle;
  let prometheus: PrometheusHandle;
  let textProxy: RecordingProxy;
  let omProxy: RecordingProxy;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-objects-'));
    writeFileSync(path.join(dir, 'a.yaml'), backupYaml('a', 1048576));
    writeFileSync(path.join(dir, 'b.yaml'), backupYaml('b', 2048, 'Failed'));
    bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: `files:${dir}`,
    });
    // One job per exposition format, each allowed only that protocol (scrape_protocols), each
    // through a recording proxy that shows what was negotiated.
    textProxy = await startRecordingProxy(bridge.address);
    omProxy = await startRecordingProxy(bridge.address);
    prometheus = await startPrometheus({
      scrapeTargets: [textProxy.address],
      jobName: 'bridge',
      honorLabels: true,
      scrapeProtocols: ['PrometheusText0.0.4'],
      extraJobs: [
        {
          jobName: 'bridge-om',
          targets: [omProxy.address],
          honorLabels: true,
          scrapeProtocols: ['OpenMetricsText1.0.0'],
        },
      ],
    });
  });

  after(async () => {
    await prometheus?.stop();
    await textProxy?.close();
    await omProxy?.close();
    await bridge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves valid text 0.0.4 by default and OpenMetrics 1.0 on request', async () => {
    const text = await bridge.scrape();
    assert.equal(text.status, 200);
    assert.equal(text.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.deepEqual(samples(text.body, 'backup_size_bytes'), [
      'backup_size_bytes{namespace="default",name="a",target="s3://bucket/a"} 1048576',
      'backup_size_bytes{namespace="default",name="b",target="s3://bucket/b"} 2048',
    ]);
    assertPromtoolAccepts(text.body);
    const om = await bridge.scrape(
      'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
    );
    assert.equal(om.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(om.body.endsWith('# EOF\n'));
    assert.deepEqual(samples(om.body, 'backup_'), samples(text.body, 'backup_'));
    // `render` on the same files prints exactly what the endpoint serves, in both formats.
    const config = path.join(repoRoot, 'examples/backup/config.yaml');
    assert.equal((await runCli(['render', '--config', config, dir])).stdout, text.body);
    assert.equal(
      (await runCli(['render', '--format', 'openmetrics', '--config', config, dir])).stdout,
      om.body,
    );
  });

  it('Prometheus ingests the series with their labels and values', async () => {
    const result = await prometheus.waitForSeries('backup_size_bytes{job="bridge"}', (s) => s.length === 2);
    const byName = Object.fromEntries(result.map((s) => [s.metric.name, s]));
    assert.equal(byName.a?.value[1], '1048576');
    assert.equal(byName.b?.value[1], '2048');
    assert.equal(byName.a?.metric.target, 's3://bucket/a');
    assert.equal(byName.a?.metric.namespace, 'default');
    const status = await prometheus.waitForSeries('backup_status{job="bridge"}', (s) => s.length === 2);
    assert.deepEqual(status.map((s) => `${s.metric.name}=${s.value[1]}`).sort(), ['a=1', 'b=0']);
    const up = await prometheus.query('up{job="bridge"}');
    assert.equal(up[0]?.value[1], '1');
  });

  it('a real Prometheus scrapes text 0.0.4 and OpenMetrics 1.0 (scrape_protocols), with the same series', async () => {
    const text = await prometheus.waitForSeries('backup_size_bytes{job="bridge"}', (s) => s.length >= 1);
    const om = await prometheus.waitForSeries(
      'backup_size_bytes{job="bridge-om"}',
      (s) => s.length === text.length,
    );
    const strip = (s: { metric: Record<string, string>; value: [number, string] }[]) =>
      s
        .map(({ metric: { job: _job, instance: _instance, ...rest }, value }) =>
          JSON.stringify([rest, value[1]]),
        )
        .sort();
    assert.deepEqual(strip(om), strip(text));
    for (const job of ['bridge', 'bridge-om'])
      assert.equal((await prometheus.query(`up{job="${job}"}`))[0]?.value[1], '1', job);
    const scrapes = (p: RecordingProxy) => p.exchanges.filter((e) => e.path === '/metrics');
    assert.ok(scrapes(textProxy).length > 0 && scrapes(omProxy).length > 0);
    for (const e of scrapes(textProxy)) {
      assert.match(e.accept, /^text\/plain;version=0\.0\.4/);
      assert.equal(e.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    }
    for (const e of scrapes(omProxy)) {
      assert.match(e.accept, /^application\/openmetrics-text;version=1\.0\.0/);
      assert.equal(e.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    }
  });

  it('a changed file shows new values on the next scrape, and a deleted file removes the series', async () => {
    writeFileSync(path.join(dir, 'a.yaml'), backupYaml('a', 4096));
    await prometheus.waitForSeries('backup_size_bytes{job="bridge",name="a"} == 4096');
    rmSync(path.join(dir, 'b.yaml'));
    await prometheus.waitForSeries('count(backup_size_bytes{job="bridge"}) == 1');
    const scrape = await bridge.scrape();
    assert.deepEqual(samples(scrape.body, 'backup_size_bytes'), [
      'backup_size_bytes{namespace="default",name="a",target="s3://bucket/a"} 4096',
    ]);
    assert.equal(samples(scrape.body, 'backup_status').length, 1);
  });

  it('a file that does not parse is reported and skipped; the rest keeps serving', async () => {
    writeFileSync(path.join(dir, 'broken.yaml'), 'apiVersion: backup.example.com/v1\nkind: [unclosed\n');
    writeFileSync(path.join(dir, 'c.yaml'), backupYaml('c', 1));
    await prometheus.waitForSeries('count(backup_size_bytes{job="bridge"}) == 2');
    assert.match(bridge.log(), /skipping file: invalid YAML/);
    const health = await bridge.scrape();
    assert.equal(health.status, 200);
  });

  it('serves health endpoints, a landing page, gzip, and the self-metrics listener', async () => {
    const { httpRequest } = await import('../harness/processes.ts');
    for (const p of ['/healthz', '/livez', '/readyz'])
      assert.equal((await httpRequest(bridge.url + p)).status, 200);
    const landing = await httpRequest(bridge.url + '/');
    assert.match(landing.body, /href="\/metrics"/);
    const gz = await httpRequest(bridge.url + '/metrics', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const self = await httpRequest(bridge.telemetryUrl + '/metrics');
    assert.match(self.body, /crd_metrics_bridge_cached_objects\{[^}]*kind="Backup"[^}]*\} 2/);
    assert.match(self.body, /crd_metrics_bridge_object_events_total\{/);
    assert.doesNotMatch(self.body, /^backup_/m);
    assertPromtoolAccepts(self.body);
  });
});
