import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { httpRequest } from '../harness/processes.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';

const OM = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

describe('both listeners negotiate text 0.0.4 and OpenMetrics 1.0', () => {
  let bridge: BridgeHandle;
  let prometheus: PrometheusHandle;

  before(async () => {
    bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: `files:${path.join(repoRoot, 'examples/backup')}`,
    });
    // Without scrape_protocols Prometheus asks for OpenMetrics first, so its OpenMetrics parser
    // reads both endpoints.
    prometheus = await startPrometheus({
      scrapeTargets: [bridge.address, new URL(bridge.telemetryUrl).host],
      jobName: 'bridge',
    });
  });

  after(async () => {
    await prometheus?.stop();
    await bridge?.stop();
  });

  for (const listener of ['main', 'telemetry'] as const) {
    it(`${listener}: text by default (promtool accepts it), OpenMetrics on request`, async () => {
      const url = `${listener === 'main' ? bridge.url : bridge.telemetryUrl}/metrics`;
      const text = await httpRequest(url);
      assert.equal(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assertPromtoolAccepts(text.body);
      const om = await httpRequest(url, { headers: { accept: OM } });
      assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
      assert.ok(om.body.endsWith('# EOF\n'), 'ends with # EOF');
      const sampleLines = (b: string) => b.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      // Same samples (values of live gauges may move between the two scrapes, so compare names and
      // labels). A GC kind's histogram appears when that kind first runs, which may fall between
      // the two scrapes, so those series are left out.
      const series = (b: string) =>
        sampleLines(b)
          .filter((l) => !l.startsWith('nodejs_gc_duration_seconds'))
          .map((l) => l.slice(0, l.lastIndexOf(' ')))
          .sort();
      assert.deepEqual(series(om.body), series(text.body));
      if (listener === 'telemetry') {
        assert.match(om.body, /^# TYPE crd_metrics_bridge_object_events counter$/m);
        assert.match(om.body, /^crd_metrics_bridge_object_events_total\{/m);
      }
    });
  }

  it('a real Prometheus scrapes both listeners over OpenMetrics and ingests them', async () => {
    const up = await prometheus.waitForSeries('up{job="bridge"} == 1', (s) => s.length === 2);
    assert.equal(up.length, 2);
    await prometheus.waitForSeries(
      'crd_metrics_bridge_object_events_total{job="bridge"}',
      (s) => s.length > 0,
    );
    await prometheus.waitForSeries('backup_size_bytes{job="bridge"}', (s) => s.length === 1);
  });
});
