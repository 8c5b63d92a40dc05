import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';

const OM = 'application/openmetrics-text; version=1.0.0';

// The running bridge with every documented output flag of the main listener (--otel.target-info,
// both formats, gzip), with resource attributes whose keys need sanitizing and collide after it.
describe('served expositions are valid for promtool and the OpenMetrics parser', () => {
  for (const targetInfo of [false, true]) {
    describe(targetInfo ? 'with --otel.target-info' : 'default flags', () => {
      let bridge: BridgeHandle;
      before(async () => {
        bridge = await startBridge({
          config: 'examples/cert-manager/config.yaml',
          source: 'files:examples/cert-manager',
          extraArgs: targetInfo ? ['--otel.target-info'] : [],
          env: {
            OTEL_SERVICE_NAME: 'bridge "quoted" \\ name',
            OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=prod-1,a.b=dot,a_b=underscore,9lives=digit',
          },
        });
      });
      after(async () => {
        await bridge?.stop();
      });

      it('text 0.0.4', async () => {
        const r = await bridge.scrape();
        assert.equal(r.status, 200);
        assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
        assertPromtoolAccepts(r.body);
        assert.doesNotMatch(r.body, /[^\n]# /, 'a comment glued to the previous line');
        if (targetInfo) {
          assert.match(r.body, /^# TYPE target_info gauge\ntarget_info\{/m);
          assert.match(r.body, /[{,]a_b="dot;underscore"[,}]/);
          assert.match(r.body, /[{,]k8s_cluster_name="prod-1"[,}]/);
          assert.match(r.body, /[{,]service_name="bridge \\"quoted\\" \\\\ name"[,}]/);
        } else assert.doesNotMatch(r.body, /target_info/);
      });

      it('OpenMetrics 1.0', async () => {
        const r = await bridge.scrape(OM);
        assert.equal(r.status, 200);
        assert.match(r.contentType, /^application\/openmetrics-text; version=1\.0\.0/);
        assertOpenMetricsAccepts([r.body]);
        if (targetInfo) assert.match(r.body, /^# TYPE target info\ntarget_info\{/m);
      });

      it('gzip, both formats', async () => {
        for (const accept of ['text/plain', OM]) {
          const res = await fetch(`${bridge.url}/metrics`, {
            headers: { accept, 'accept-encoding': 'gzip' },
          });
          assert.equal(res.headers.get('content-encoding'), 'gzip');
          // fetch already decoded it; decode a raw copy too, to be sure the bytes are gzip.
          const body = await res.text();
          if (accept === OM) assertOpenMetricsAccepts([body]);
          else assertPromtoolAccepts(body);
        }
        const raw = await new Promise<Buffer>((resolve, reject) => {
          import('node:http')
            .then(({ get }) =>
              get(`${bridge.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (c: Buffer) => chunks.push(c));
                res.on('end', () => resolve(Buffer.concat(chunks)));
                res.on('error', reject);
              }).on('error', reject),
            )
            .catch(reject);
        });
        assertPromtoolAccepts(gunzipSync(raw).toString('utf8'));
      });

      it("the telemetry listener's text", async () => {
        const res = await fetch(`${bridge.telemetryUrl}/metrics`);
        assert.equal(res.status, 200);
        assertPromtoolAccepts(await res.text());
      });
    });
  }
});
