import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { repoRoot } from '../harness/binaries.ts';
import { otlpPushEnv, startCollector } from '../harness/collector.ts';
import type { CollectorHandle } from '../harness/collector.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';
import { unexpectedListWatchFailures } from '../support/listWatchFailures.ts';

const SEED_LINES = [
  'backup_status{namespace="default",name="test-backup",target="s3://my-bucket"} 1',
  'backup_size_bytes{namespace="default",name="test-backup",target="s3://my-bucket"} 1048576',
  'backup_duration_seconds{namespace="default",name="test-backup",target="s3://my-bucket"} 300',
];

describe('against a real kube-apiserver with etcd and RBAC', () => {
  let api: KubeApiserverHandle;
  let collector: CollectorHandle;
  let bridge: BridgeHandle;
  let work: string;

  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-kube-'));
    api = await startKubeApiserver();
    collector = await startCollector();
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
  });

  after(async () => {
    await bridge?.stop();
    await collector?.stop();
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('deploy/ (kustomize) passes a server-side dry run without the Prometheus Operator, and with it plus the ServiceMonitor component', async () => {
    const base = await kubectl(['kustomize', path.join(repoRoot, 'deploy')]);
    const kinds = base
      .split(/^---$/m)
      .map((doc) => (parse(doc) as { kind: string }).kind)
      .sort();
    assert.deepEqual(kinds, [
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'Service',
      'ServiceAccount',
    ]);
    // The base deploys into `monitoring` and does not create it (deploy/kustomization.yaml).
    await kubectl(['create', 'namespace', 'monitoring']);
    // No monitoring.coreos.com CRDs on this cluster yet: the base must not need them.
    const dry = await kubectl(['apply', '--dry-run=server', '-k', path.join(repoRoot, 'deploy')]);
    assert.match(dry, /deployment.apps\/crd-metrics-bridge (created|configured) \(server dry run\)/);
    assert.doesNotMatch(dry, /servicemonitor/);
    const withMonitor = path.join(repoRoot, 'examples/kustomize/with-servicemonitor');
    const refused = await api.kubectl(['apply', '--dry-run=server', '-k', withMonitor]);
    assert.notEqual(refused.code, 0, 'the ServiceMonitor needs its CRD');
    // The ServiceMonitor needs the Prometheus Operator's CRD; a minimal one stands in for it.
    await kubectl(['apply', '-f', '-'], SERVICE_MONITOR_CRD);
    await kubectl([
      'wait',
      '--for=condition=Established',
      'crd/servicemonitors.monitoring.coreos.com',
      '--timeout=30s',
    ]);
    const dryWithMonitor = await kubectl(['apply', '--dry-run=server', '-k', withMonitor]);
    assert.match(
      dryWithMonitor,
      /deployment.apps\/crd-metrics-bridge (created|configured) \(server dry run\)/,
    );
    assert.match(
      dryWithMonitor,
      /servicemonitor.monitoring.coreos.com\/crd-metrics-bridge (created|configured) \(server dry run\)/,
    );
    const configMap = parse(readFileSync(path.join(repoRoot, 'deploy/04-configmap.yaml'), 'utf8')) as {
      data: Record<string, string>;
    };
    writeFileSync(path.join(work, 'config.yaml'), configMap.data['config.yaml']!);
    const rbac = await runCli(['rbac', '--config', path.join(work, 'config.yaml')]);
    assert.equal(rbac.code, 0, rbac.stderr);
    const shipped = readFileSync(path.join(repoRoot, 'deploy/02-clusterrole.yaml'), 'utf8').replace(
      /^#.*\n/gm,
      '',
    );
    assert.equal(rbac.stdout, shipped);
    // Now apply the real RBAC objects the bridge will run with.
    for (const f of ['01-serviceaccount.yaml', '02-clusterrole.yaml', '03-clusterrolebinding.yaml']) {
      await kubectl(['apply', '-f', path.join(repoRoot, 'deploy', f)]);
    }
  });

  it('the ServiceAccount may read exactly the configured resources and nothing more', async () => {
    const as = 'system:serviceaccount:monitoring:crd-metrics-bridge';
    const can = async (...args: string[]) =>
      (await api.kubectl(['auth', 'can-i', ...args, `--as=${as}`])).stdout.trim();
    assert.equal(await can('watch', 'backups.backup.example.com', '--all-namespaces'), 'yes');
    assert.equal(await can('list', 'customresourcedefinitions.apiextensions.k8s.io'), 'yes');
    assert.equal(await can('create', 'backups.backup.example.com'), 'no');
    assert.equal(await can('list', 'secrets', '--all-namespaces'), 'no');
    assert.equal(await can('list', 'pods', '--all-namespaces'), 'no');
  });

  it("shows the seed's three lines on the pull endpoint and in the OTLP stream within one interval", async () => {
    const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'crd-metrics-bridge');
    bridge = await startBridge({
      config: path.join(work, 'config.yaml'),
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${kubeconfig}`],
      env: otlpPushEnv(collector, 1000),
    });
    await kubectl(
      ['apply', '-f', '-'],
      readFileSync(path.join(repoRoot, 'examples/backup/backup.yaml'), 'utf8'),
    );
    const body = await until('the seed series', async () => {
      const b = (await bridge.scrape()).body;
      return samples(b, 'backup_').length === 3 ? b : undefined;
    });
    assert.deepEqual(samples(body, 'backup_'), SEED_LINES);
    await collector.waitForFileExport(
      (docs) => JSON.stringify(docs.at(-1) ?? {}).includes('"test-backup"'),
      10_000,
    );
    const last = JSON.stringify((await collector.readFileExport()).at(-1));
    assert.match(last, /"name":"backup_size_bytes"/);
    assert.match(last, /"asInt":"1048576"|"asDouble":1048576/);
  });

  it('an update changes the values and a delete removes the series', async () => {
    const updated = readFileSync(path.join(repoRoot, 'examples/backup/backup.yaml'), 'utf8').replace(
      'sizeBytes: 1048576',
      'sizeBytes: 2097152',
    );
    await kubectl(['apply', '-f', '-'], updated);
    await until('the new size', async () =>
      samples((await bridge.scrape()).body, 'backup_size_bytes')[0]?.endsWith(' 2097152') ? true : undefined,
    );
    await kubectl(['delete', 'backup', 'test-backup', '-n', 'default']);
    await until('the series to go', async () =>
      samples((await bridge.scrape()).body, 'backup_').length === 0 ? true : undefined,
    );
  });

  it('picks up a CRD installed after start', async () => {
    // Until then, the configured resource without a CRD was reported once at start (no other
    // CRD changed since, so nothing but the initial CRD list could have prompted it).
    const missing = bridge
      .log()
      .split('\n')
      .filter((l) => l.includes('no installed CRD serving it'));
    assert.equal(missing.length, 1, bridge.log());
    assert.match(missing[0]!, /"level":"warn".*"resource":"cert-manager\.io\/v1\/Certificate"/);
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/cert-manager/crd.yaml')]);
    await kubectl([
      'wait',
      '--for=condition=Established',
      'crd/certificates.cert-manager.io',
      '--timeout=30s',
    ]);
    await kubectl(['create', 'namespace', 'shop']);
    await kubectl(['create', 'namespace', 'internal']);
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/cert-manager/certificates.yaml')]);
    const as = 'system:serviceaccount:monitoring:crd-metrics-bridge';
    assert.equal(
      (
        await api.kubectl([
          'auth',
          'can-i',
          'watch',
          'certificates.cert-manager.io',
          '--all-namespaces',
          `--as=${as}`,
        ])
      ).stdout.trim(),
      'yes',
    );
    const lines = await until('certificate series', async () => {
      const s = samples((await bridge.scrape()).body, 'certmanager_certificate_expiration_timestamp_seconds');
      return s.length === 2 ? s : undefined;
    });
    assert.deepEqual(lines.sort(), [
      'certmanager_certificate_expiration_timestamp_seconds{name="api-tls",namespace="shop"} 1794960000',
      'certmanager_certificate_expiration_timestamp_seconds{name="web-tls",namespace="shop"} 1796025600',
    ]);
  });

  it('a burst of objects created and deleted ends with the cache equal to the API server', async () => {
    const count = 1200;
    const item = (i: number) => ({
      apiVersion: 'backup.example.com/v1',
      kind: 'Backup',
      metadata: {
        name: `burst-${i}`,
        namespace: 'default',
        labels: { burst: i % 3 === 0 ? 'keep' : 'drop' },
      },
      spec: { target: `t${i}` },
      status: { phase: 'Completed', sizeBytes: i },
    });
    // Four kubectl processes in parallel: the API server sees concurrent writes, as in a real burst.
    const started = Date.now();
    await Promise.all(
      [0, 1, 2, 3].map((k) => {
        const items = Array.from({ length: count / 4 }, (_, j) => item(j * 4 + k));
        return kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      }),
    );
    await until(
      'all burst objects',
      async () =>
        samples((await bridge.scrape()).body, 'backup_size_bytes').length === count ? true : undefined,
      60_000,
    );
    // One DeleteCollection call removes two thirds at once; the watch sees a burst of DELETED events.
    await kubectl([
      'delete',
      '--raw',
      '/apis/backup.example.com/v1/namespaces/default/backups?labelSelector=burst%3Ddrop',
    ]);
    const expected = new Set(
      (await kubectl(['get', 'backups', '-n', 'default', '-o', 'jsonpath={.items[*].metadata.name}']))
        .split(' ')
        .filter(Boolean),
    );
    assert.equal(expected.size, count / 3);
    await until(
      'the cache to match the API server',
      async () => {
        const got = samples((await bridge.scrape()).body, 'backup_size_bytes').map(
          (l) => /name="([^"]+)"/.exec(l)![1]!,
        );
        return got.length === expected.size && got.every((n) => expected.has(n)) ? true : undefined;
      },
      60_000,
    );
    console.log(
      `burst of ${count} creates and ${count - expected.size} deletes settled in ${Date.now() - started} ms`,
    );
  });

  it('reports list/watch, sync and event telemetry and is ready', async () => {
    assert.equal((await httpRequest(`${bridge.url}/readyz`)).status, 200);
    const self = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
    assert.match(
      self,
      /crd_metrics_bridge_list_total\{target="backup.example.com\/v1\/backups",result="success"\} [1-9]/,
    );
    assert.match(self, /crd_metrics_bridge_watch_total\{[^}]*result="success"/);
    assert.match(self, /crd_metrics_bridge_watch_events_total\{[^}]*type="DELETED"/);
    assert.match(
      self,
      /crd_metrics_bridge_last_sync_timestamp_seconds\{target="cert-manager.io\/v1\/certificates"\} 1\d{9}\n/,
    );
    assert.match(
      self,
      /crd_metrics_bridge_target_synced\{target="backup.example.com\/v1\/backups",state="watching"\} 1/,
    );
    assert.doesNotMatch(bridge.log(), /"level":"error"/);
    assert.deepEqual(unexpectedListWatchFailures(bridge.log()), []);
  });
});

describe('version wildcards and CRD removal', () => {
  it('a CRD serving two versions gives series for both; deleting the CRD drops them', async () => {
    const api = await startKubeApiserver();
    let bridge: BridgeHandle | undefined;
    try {
      const r = await api.kubectl([
        'apply',
        '-f',
        path.join(repoRoot, 'test/fixtures/kube/widgets-crd.yaml'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      await api.kubectl(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
      await api.kubectl(['apply', '-f', '-'], {
        input: 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n',
      });
      bridge = await startBridge({
        config: path.join(repoRoot, 'test/fixtures/kube/widgets-config.yaml'),
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${api.adminKubeconfigPath}`],
      });
      const lines = await until('both versions', async () => {
        const s = samples((await bridge!.scrape()).body, 'widget_size');
        return s.length === 2 ? s : undefined;
      });
      assert.deepEqual(lines.sort(), [
        'widget_size{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="w1"} 3',
        'widget_size{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1beta1",name="w1"} 3',
      ]);
      const del = await api.kubectl(['delete', 'crd', 'widgets.example.com']);
      assert.equal(del.code, 0, del.stderr);
      await until(
        'the series to go with the CRD',
        async () => (samples((await bridge!.scrape()).body, 'widget_').length === 0 ? true : undefined),
        30_000,
      );
    } finally {
      await bridge?.stop();
      await api.stop();
    }
  });
});

const SERVICE_MONITOR_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor, listKind: ServiceMonitorList }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;

describe('API server outage', () => {
  it('keeps serving what it has while the API server is down and catches up with changes made meanwhile', async () => {
    const api = await startKubeApiserver();
    let bridge: BridgeHandle | undefined;
    let second: Awaited<ReturnType<KubeApiserverHandle['startSecondApiserver']>> | undefined;
    const backup = (name: string, size: number) =>
      `apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: ${name}, namespace: default}\nspec: {target: t-${name}}\nstatus: {phase: Completed, sizeBytes: ${size}}\n`;
    const sizes = async () =>
      samples((await bridge!.scrape()).body, 'backup_size_bytes')
        .map((l) => `${/name="([^"]+)"/.exec(l)![1]}=${l.split(' ').pop()}`)
        .sort()
        .join(',');
    try {
      assert.equal(
        (await api.kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')])).code,
        0,
      );
      await api.kubectl([
        'wait',
        '--for=condition=Established',
        'crd/backups.backup.example.com',
        '--timeout=30s',
      ]);
      for (const [n, s] of [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ] as const) {
        assert.equal((await api.kubectl(['apply', '-f', '-'], { input: backup(n, s) })).code, 0);
      }
      bridge = await startBridge({
        config: path.join(repoRoot, 'examples/backup/config.yaml'),
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${api.adminKubeconfigPath}`],
      });
      await until('the three backups', async () => ((await sizes()) === 'a=1,b=2,c=3' ? true : undefined));

      second = await api.startSecondApiserver();
      await api.stopApiserver();
      await delay(2000);
      assert.equal(await sizes(), 'a=1,b=2,c=3', 'the cache keeps serving during the outage');
      assert.equal((await httpRequest(`${bridge.url}/healthz`)).status, 200);
      // Changes the bridge cannot see yet: a delete, an update and a create.
      assert.equal((await second.kubectl(['delete', 'backup', 'b', '-n', 'default'])).code, 0);
      assert.equal((await second.kubectl(['apply', '-f', '-'], { input: backup('a', 10) })).code, 0);
      assert.equal((await second.kubectl(['apply', '-f', '-'], { input: backup('d', 4) })).code, 0);
      await delay(1000);
      assert.equal(await sizes(), 'a=1,b=2,c=3');

      await api.startApiserver();
      await until(
        'the bridge to catch up',
        async () => ((await sizes()) === 'a=10,c=3,d=4' ? true : undefined),
        60_000,
      );
      assert.match(bridge.log(), /list\/watch failed; retrying/);
      const self = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
      assert.match(
        self,
        /crd_metrics_bridge_reflector_restarts_total\{target="backup.example.com\/v1\/backups",reason="[a-z-]+"\} [1-9]/,
      );
    } finally {
      await bridge?.stop();
      await second?.stop();
      await api.stop();
    }
  });
});

describe('RBAC denial', () => {
  it('retries a forbidden collection slowly, reports it, stays unready, and recovers once access is granted', async () => {
    const api = await startKubeApiserver();
    let bridge: BridgeHandle | undefined;
    const ok = async (args: string[], input?: string) => {
      const r = await api.kubectl(args, input === undefined ? {} : { input });
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    };
    try {
      await ok(['apply', '-f', path.join(repoRoot, 'test/fixtures/kube/widgets-crd.yaml')]);
      await ok(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
      await ok(
        ['apply', '-f', '-'],
        'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 5}\n',
      );
      const kubeconfig = await api.createServiceAccountKubeconfig('bridge', 'limited');
      await ok([
        'create',
        'clusterrole',
        'crd-reader',
        '--verb=get,list,watch',
        '--resource=customresourcedefinitions.apiextensions.k8s.io',
      ]);
      await ok([
        'create',
        'clusterrolebinding',
        'crd-reader',
        '--clusterrole=crd-reader',
        '--serviceaccount=bridge:limited',
      ]);
      bridge = await startBridge({
        config: path.join(repoRoot, 'test/fixtures/kube/widgets-config.yaml'),
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${kubeconfig}`],
        waitForReady: false,
      });
      await until('a forbidden restart', async () => {
        const self = (await httpRequest(`${bridge!.telemetryUrl}/metrics`)).body;
        return /crd_metrics_bridge_reflector_restarts_total\{target="example.com\/v1\/widgets",reason="forbidden"\} [1-9]/.test(
          self,
        )
          ? true
          : undefined;
      });
      assert.equal((await httpRequest(`${bridge.url}/readyz`)).status, 503);
      assert.match((await httpRequest(`${bridge.url}/readyz`)).body, /not ready/);
      assert.match(bridge.log(), /"reason":"forbidden"/);
      await ok([
        'create',
        'clusterrole',
        'widget-reader',
        '--verb=get,list,watch',
        '--resource=widgets.example.com',
      ]);
      await ok([
        'create',
        'clusterrolebinding',
        'widget-reader',
        '--clusterrole=widget-reader',
        '--serviceaccount=bridge:limited',
      ]);
      await until(
        'widgets once allowed',
        async () => (samples((await bridge!.scrape()).body, 'widget_size').length === 2 ? true : undefined),
        90_000,
      );
      await until('ready', async () =>
        (await httpRequest(`${bridge!.url}/readyz`)).status === 200 ? true : undefined,
      );
    } finally {
      await bridge?.stop();
      await api.stop();
    }
  });
});
