import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolParses } from '../support/promtool.ts';
import { hostileThing, ordinaryThing, TAGS_CONFIG } from '../support/tenantTags.ts';

// One tenant's object with map keys "" and "__name__" (copied into label names by a star key) next
// to another team's object, served by `run` and scraped by a real Prometheus 3 in both exposition
// formats: the target stays up and the other team's series stay in.
describe('a tenant key "" or "__name__" with a real Prometheus scraping the bridge', () => {
  let dir: string;
  let bridge: BridgeHandle;
  let prometheus: PrometheusHandle;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'label-names-'));
    writeFileSync(path.join(dir, 'config.yaml'), TAGS_CONFIG);
    const objects = path.join(dir, 'objects');
    mkdirSync(objects);
    writeFileSync(path.join(objects, 'hostile.json'), JSON.stringify(hostileThing()));
    writeFileSync(path.join(objects, 'ordinary.json'), JSON.stringify(ordinaryThing()));
    bridge = await startBridge({ config: path.join(dir, 'config.yaml'), source: `files:${objects}` });
    prometheus = await startPrometheus({
      scrapeTargets: [bridge.address],
      jobName: 'bridge',
      honorLabels: true,
      scrapeProtocols: ['PrometheusText0.0.4'],
      extraJobs: [
        {
          jobName: 'bridge-om',
          targets: [bridge.address],
          honorLabels: true,
          scrapeProtocols: ['OpenMetricsText1.0.0'],
        },
      ],
    });
  });

  after(async () => {
    await prometheus?.stop();
    await bridge?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves an exposition that promtool and the OpenMetrics parser accept', async () => {
    const text = await bridge.scrape();
    assert.equal(text.status, 200);
    assert.match(text.body, /name="hostile"/);
    assertPromtoolParses(text.body);
    const om = await bridge.scrape('application/openmetrics-text;version=1.0.0');
    assertOpenMetricsAccepts([om.body]);
  });

  it('Prometheus 3 keeps the target up and ingests both tenants’ series, in both formats', async () => {
    for (const job of ['bridge', 'bridge-om']) {
      const replicas = await prometheus.waitForSeries(
        `thing_replicas{job="${job}"}`,
        (s) => s.length === 2,
        30_000,
      );
      const byName = Object.fromEntries(replicas.map((s) => [s.metric.name, s]));
      assert.equal(byName.ordinary?.value[1], '2', job);
      assert.equal(byName.ordinary?.metric.team, 'b', job);
      assert.equal(byName.hostile?.value[1], '3', job);
      assert.equal(byName.hostile?.metric.__name__, 'thing_replicas', job);
      assert.equal(byName.hostile?.metric.a_b_c, 'v5', job);
      assert.equal((await prometheus.query(`up{job="${job}"}`))[0]?.value[1], '1', job);
    }
  });

  it('counts the dropped names on the telemetry listener', async () => {
    const telemetry = await (await fetch(`${bridge.telemetryUrl}/metrics`)).text();
    assert.match(
      telemetry,
      /^crd_metrics_bridge_object_errors_total\{resource="example\.com\/v1\/Thing",metric="thing_replicas",kind="invalid-label-name"\} 1$/m,
    );
  });
});
