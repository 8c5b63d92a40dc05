// Smoke test of the peer harness: each real peer starts, answers, and is gone after stop().
// Needs the binaries from `bash scripts/peers/install.sh`.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startCollector } from './collector.ts';
import { startKubeApiserver } from './kubeApiserver.ts';
import { startPrometheus } from './prometheus.ts';
import { httpRequest } from './processes.ts';

async function assertRefused(url: string): Promise<void> {
  await assert.rejects(
    httpRequest(url, { timeoutMs: 2000 }),
    /ECONNREFUSED/,
    `${url} still answers after stop()`,
  );
}

void describe('peer harness', () => {
  void it('Prometheus scrapes a loopback target and answers PromQL', { timeout: 60_000 }, async () => {
    const target = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE harness_probe gauge\nharness_probe{kind="smoke"} 42\n');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as AddressInfo;
    const prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`] });
    try {
      const up = await prometheus.waitForSeries(
        'up',
        (s) => s.length === 2 && s.every((x) => x.value[1] === '1'),
      );
      assert.deepEqual(up.map((s) => s.metric['job']).sort(), ['prometheus', 'targets']);
      const probe = await prometheus.waitForSeries('harness_probe');
      assert.equal(probe.length, 1);
      assert.equal(probe[0]!.value[1], '42');
      assert.equal(probe[0]!.metric['kind'], 'smoke');
      assert.equal(probe[0]!.metric['instance'], `127.0.0.1:${port}`);
      await assert.rejects(prometheus.query('sum('), /bad_data|parse error/);
    } finally {
      await prometheus.stop();
      target.closeAllConnections();
      target.close();
    }
    await assertRefused(`${prometheus.url}/-/ready`);
  });

  void it(
    'Collector accepts OTLP/HTTP JSON and exports it to the file and Prometheus',
    { timeout: 60_000 },
    async () => {
      const collector = await startCollector();
      try {
        const payload = {
          resourceMetrics: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'harness-smoke' } }] },
              scopeMetrics: [
                {
                  scope: { name: 'harness' },
                  metrics: [
                    {
                      name: 'harness_smoke_value',
                      gauge: {
                        dataPoints: [
                          {
                            asInt: '7',
                            timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
                            attributes: [{ key: 'kind', value: { stringValue: 'smoke' } }],
                          },
                        ],
                      },
                    },
                  ],
                },
              ],
            },
          ],
        };
        const response = await httpRequest(`${collector.otlpHttpEndpoint}/v1/metrics`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
        assert.equal(response.status, 200, response.body);

        const documents = await collector.waitForFileExport((docs) =>
          JSON.stringify(docs).includes('harness_smoke_value'),
        );
        const doc = documents.find((d) =>
          JSON.stringify(d).includes('harness_smoke_value'),
        ) as typeof payload;
        const metric = doc.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
        assert.equal(metric.name, 'harness_smoke_value');
        assert.equal(metric.gauge.dataPoints[0]!.asInt, '7');

        const scraped = await httpRequest(`${collector.prometheusUrl}/metrics`);
        assert.equal(scraped.status, 200);
        const line = scraped.body.split('\n').find((l) => l.startsWith('harness_smoke_value{'));
        assert.ok(line, `no harness_smoke_value series in:\n${scraped.body}`);
        assert.match(line, /kind="smoke"/);
        assert.match(line, / 7$/);
        // without_scope_info and resource_to_telemetry_conversion off keep the labels as sent.
        assert.doesNotMatch(line, /otel_scope_|service_name=/);
      } finally {
        await collector.stop();
      }
      await assertRefused(`${collector.prometheusUrl}/metrics`);
    },
  );

  void it(
    'kube-apiserver serves the admin and enforces RBAC on ServiceAccounts',
    { timeout: 180_000 },
    async () => {
      const kube = await startKubeApiserver();
      try {
        const namespaces = await kube.kubectl(['get', 'namespaces', '-o', 'name']);
        assert.equal(namespaces.code, 0, namespaces.stderr);
        assert.match(namespaces.stdout, /^namespace\/default$/m);

        const saKubeconfig = await kube.createServiceAccountKubeconfig('harness-smoke', 'reader');
        const whoami = await kube.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
          kubeconfig: saKubeconfig,
        });
        assert.equal(whoami.code, 0, whoami.stderr);
        assert.equal(whoami.stdout, 'system:serviceaccount:harness-smoke:reader');

        const denied = await kube.kubectl(['get', 'namespaces'], { kubeconfig: saKubeconfig });
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /forbidden/i);

        // 403 rather than 401: the token authenticates, RBAC denies.
        const token = await kube.serviceAccountToken('harness-smoke', 'reader');
        const raw = await httpRequest(`${kube.url}/api/v1/namespaces`, {
          ca: kube.caPem,
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(raw.status, 403, raw.body);
        assert.equal((JSON.parse(raw.body) as { reason: string }).reason, 'Forbidden');
      } finally {
        await kube.stop();
      }
      await assertRefused(`${kube.url}/readyz`);
      await assertRefused(`${kube.etcdUrl}/health`);
    },
  );
});
