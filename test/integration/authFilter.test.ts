import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { startCountingProxy } from '../support/countingProxy.ts';
import type { CountingProxy } from '../support/countingProxy.ts';
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';

const CONFIG = path.join(repoRoot, 'examples/backup/config.yaml');
const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const SUBJECT_ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

/** GETs `url` `total` times, `parallel` at a time, each on its own connection; returns the statuses. */
async function flood(url: string, total: number, parallel: number, token: () => string): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const one = () =>
    new Promise<number>((resolve) => {
      const req = request(url, { agent: false, headers: { authorization: `Bearer ${token()}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end();
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < total) {
        next++;
        statuses.push(await one());
      }
    }),
  );
  return statuses;
}

describe('--auth-filter against a real kube-apiserver (TokenReview + SubjectAccessReview)', () => {
  let api: KubeApiserverHandle;
  let bridge: BridgeHandle;
  let prometheus: PrometheusHandle;
  let proxy: CountingProxy;
  let work: string;
  let allowedToken: string;
  let deniedToken: string;

  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const get = (url: string, token?: string) =>
    httpRequest(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-authfilter-'));
    api = await startKubeApiserver();
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
    // The bridge's own RBAC, as `rbac --auth-filter` prints it.
    const rbac = await runCli(['rbac', '--config', CONFIG, '--auth-filter']);
    assert.equal(rbac.code, 0, rbac.stderr);
    assert.match(rbac.stdout, /tokenreviews/);
    assert.match(rbac.stdout, /subjectaccessreviews/);
    await kubectl(['apply', '-f', '-'], rbac.stdout);
    // The bridge talks to the API server through a proxy that counts its connections and requests.
    proxy = await startCountingProxy({
      upstream: api.url,
      caFile: api.caFile,
      certFile: api.serverCertFile,
      keyFile: api.serverKeyFile,
    });
    const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'crd-metrics-bridge');
    const viaProxy = JSON.parse(readFileSync(kubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const c of viaProxy.clusters) c.cluster.server = proxy.url;
    writeFileSync(kubeconfig, JSON.stringify(viaProxy), { mode: 0o600 });
    await kubectl([
      'create',
      'clusterrolebinding',
      'crd-metrics-bridge',
      '--clusterrole=crd-metrics-bridge',
      '--serviceaccount=monitoring:crd-metrics-bridge',
    ]);
    // Two scrapers: one bound to the shipped metrics-reader ClusterRole, one bound to nothing.
    await kubectl(['apply', '-f', path.join(repoRoot, 'deploy/auth-filter/metrics-reader.yaml')]);
    allowedToken = await api.serviceAccountToken('monitoring', 'prometheus-k8s');
    deniedToken = await api.serviceAccountToken('monitoring', 'someone-else');
    bridge = await startBridge({
      config: CONFIG,
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${kubeconfig}`, '--auth-filter'],
    });
    writeFileSync(path.join(work, 'token'), allowedToken);
    prometheus = await startPrometheus({
      scrapeTargets: [bridge.address],
      jobName: 'bridge',
      scrapeConfig: { authorization: { type: 'Bearer', credentials_file: path.join(work, 'token') } },
    });
  });

  after(async () => {
    await prometheus?.stop();
    await bridge?.stop();
    await proxy?.stop();
    await api?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the shipped ClusterRoles pass a server-side dry run and say what they should', async () => {
    const dry = await kubectl([
      'apply',
      '--dry-run=server',
      '-f',
      path.join(repoRoot, 'deploy/auth-filter/auth-filter-rbac.yaml'),
      '-f',
      path.join(repoRoot, 'deploy/auth-filter/metrics-reader.yaml'),
    ]);
    assert.match(dry, /clusterrole.rbac.authorization.k8s.io\/crd-metrics-bridge-auth-filter/);
    const can = async (as: string, ...args: string[]) =>
      (await api.kubectl(['auth', 'can-i', ...args, `--as=${as}`])).stdout.trim();
    assert.equal(await can('system:serviceaccount:monitoring:prometheus-k8s', 'get', '/metrics'), 'yes');
    assert.equal(await can('system:serviceaccount:monitoring:someone-else', 'get', '/metrics'), 'no');
    assert.equal(
      await can(
        'system:serviceaccount:monitoring:crd-metrics-bridge',
        'create',
        'tokenreviews.authentication.k8s.io',
      ),
      'yes',
    );
  });

  it('allowed token: 200 with the series on both listeners', async () => {
    const main = await get(`${bridge.url}/metrics`, allowedToken);
    assert.equal(main.status, 200, main.body);
    assert.equal(samples(main.body, 'backup_size_bytes').length, 1);
    const self = await get(`${bridge.telemetryUrl}/metrics`, allowedToken);
    assert.equal(self.status, 200);
    assert.match(self.body, /crd_metrics_bridge_/);
  });

  it('a token whose user may not get /metrics: 403 on both listeners', async () => {
    for (const base of [bridge.url, bridge.telemetryUrl]) {
      const r = await get(`${base}/metrics`, deniedToken);
      assert.equal(r.status, 403);
      assert.match(r.body, /system:serviceaccount:monitoring:someone-else/);
      assert.doesNotMatch(r.body, /backup_/);
    }
  });

  it('no token or an invalid one: 401; health probes need none', async () => {
    for (const token of [undefined, 'not-a-token', `${allowedToken}x`]) {
      const r = await get(`${bridge.url}/metrics`, token);
      assert.equal(r.status, 401, `token ${String(token).slice(0, 12)}`);
      assert.equal(r.headers['www-authenticate'], 'Bearer');
    }
    assert.equal((await get(`${bridge.telemetryUrl}/metrics`)).status, 401);
    for (const p of ['/healthz', '/livez', '/readyz'])
      assert.equal((await get(`${bridge.url}${p}`)).status, 200);
  });

  it('a real Prometheus scrapes with a bearer token file', async () => {
    await prometheus.waitForSeries('backup_size_bytes{job="bridge"}');
    assert.equal((await prometheus.query('up{job="bridge"}'))[0]?.value[1], '1');
  });

  it('random tokens do not fan out to the API server: bounded reviews, 429 beyond, the scraper still gets in', async () => {
    // Settled: the allowed scraper has been reviewed; what the bridge holds open now is its watch.
    assert.equal((await get(`${bridge.url}/metrics`, allowedToken)).status, 200);
    // Its verdict is cached for 10 s, and Prometheus, scraping every second with the same token,
    // renews it within a second of its expiry: start right after a renewal, so that none falls
    // inside the flood (on a loaded machine the flood can take several seconds).
    proxy.reset();
    await until('a renewed review of the allowed scraper', () =>
      Promise.resolve(proxy.requests(SUBJECT_ACCESS_REVIEWS).total > 0 ? true : undefined),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.reset();
    const before = proxy.connections.open;
    const began = Date.now();
    const [statuses, scraper] = await Promise.all([
      flood(`${bridge.url}/metrics`, 600, 100, () => randomBytes(24).toString('base64url')),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return get(`${bridge.url}/metrics`, allowedToken);
      })(),
    ]);
    const seconds = (Date.now() - began) / 1000;
    const reviews = proxy.requests(TOKEN_REVIEWS);
    const count = (status: number) => statuses.filter((s) => s === status).length;
    const summary = `${reviews.total} TokenReviews in ${seconds.toFixed(1)} s, at most ${reviews.peakInFlight} in flight; connections ${before} before, peak ${proxy.connections.peak}; 401: ${count(401)}, 429: ${count(429)}`;
    console.log(`600 requests with random tokens, 100 at a time: ${summary}`);
    assert.equal(count(401) + count(429), 600, summary);
    assert.ok(count(429) > 0, summary);
    // At most 8 in flight and 20 per second (a burst of 20) by default.
    assert.ok(reviews.peakInFlight <= 8, summary);
    assert.ok(reviews.total <= 20 + Math.ceil(20 * seconds), summary);
    assert.ok(proxy.connections.peak <= before + 8, summary);
    assert.equal(proxy.requests(SUBJECT_ACCESS_REVIEWS).total, 0, summary);
    assert.equal(scraper.status, 200, summary);
  });

  it('losing the right takes effect within the cache time (10 s allowed)', async () => {
    await kubectl(['delete', 'clusterrolebinding', 'crd-metrics-bridge-metrics-reader']);
    const started = Date.now();
    await until(
      'a 403 after the binding is gone',
      async () => (await get(`${bridge.url}/metrics`, allowedToken)).status === 403,
      30_000,
    );
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    assert.match(
      readFileSync(path.join(repoRoot, 'deploy/auth-filter/metrics-reader.yaml'), 'utf8'),
      /prometheus-k8s/,
    );
  });
});
