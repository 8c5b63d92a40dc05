import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';

const CONFIG = path.join(repoRoot, 'examples/backup/config.yaml');

describe('--auth-filter against a real kube-apiserver (TokenReview + SubjectAccessReview)', () => {
  let api: KubeApiserverHandle;
  let bridge: BridgeHandle;
  let prometheus: PrometheusHandle;
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
    const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'crd-metrics-bridge');
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
