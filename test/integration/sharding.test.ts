import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';
import { assertPartition } from '../support/partition.ts';

const CONFIG = path.join(repoRoot, 'examples/backup/config.yaml');
const OBJECTS = 300;
const NAMESPACE = 'monitoring';
const STS = 'crd-metrics-bridge';

/** The custom-resource sample lines of a scrape (no comments), sorted. */
async function seriesOf(bridge: BridgeHandle): Promise<string[]> {
  const scrape = await bridge.scrape();
  assert.equal(scrape.status, 200);
  return scrape.body
    .split('\n')
    .filter((l) => l.startsWith('backup_'))
    .sort();
}

async function selfMetric(bridge: BridgeHandle, name: string): Promise<string[]> {
  const body = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
  return body.split('\n').filter((l) => l.startsWith(name));
}

describe('sharding against a real kube-apiserver', () => {
  let api: KubeApiserverHandle;
  let work: string;
  let kubeconfig: string;
  let unsharded: BridgeHandle;
  const bridges: BridgeHandle[] = [];

  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const start = async (extraArgs: string[]) => {
    const bridge = await startBridge({
      config: CONFIG,
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${kubeconfig}`, ...extraArgs],
    });
    bridges.push(bridge);
    return bridge;
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-sharding-'));
    api = await startKubeApiserver();
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
    const items = Array.from({ length: OBJECTS }, (_, i) => ({
      apiVersion: 'backup.example.com/v1',
      kind: 'Backup',
      metadata: { name: `b-${i}`, namespace: i % 2 === 0 ? 'default' : 'kube-public' },
      spec: { target: `s3://bucket/${i}` },
      status: {
        phase: i % 5 === 0 ? 'Failed' : 'Completed',
        sizeBytes: i * 1024,
        startTime: '2026-02-09T10:00:00Z',
        endTime: '2026-02-09T10:05:00Z',
      },
    }));
    await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    // The bridge runs as its ServiceAccount with exactly what `rbac --pod-sharding` prints.
    const rbac = await runCli(['rbac', '--config', CONFIG, '--pod-sharding', NAMESPACE]);
    assert.equal(rbac.code, 0, rbac.stderr);
    kubeconfig = await api.createServiceAccountKubeconfig(NAMESPACE, 'crd-metrics-bridge');
    await kubectl(['apply', '-f', '-'], rbac.stdout);
    await kubectl([
      'create',
      'clusterrolebinding',
      'crd-metrics-bridge',
      '--clusterrole=crd-metrics-bridge',
      `--serviceaccount=${NAMESPACE}:crd-metrics-bridge`,
    ]);
    await kubectl([
      'create',
      'rolebinding',
      'crd-metrics-bridge-sharding',
      '-n',
      NAMESPACE,
      '--role=crd-metrics-bridge-sharding',
      `--serviceaccount=${NAMESPACE}:crd-metrics-bridge`,
    ]);
    unsharded = await start([]);
    await until('all objects in the unsharded bridge', async () =>
      (await seriesOf(unsharded)).filter((l) => l.startsWith('backup_size_bytes')).length === OBJECTS
        ? true
        : undefined,
    );
  });

  after(async () => {
    await Promise.allSettled(bridges.map((b) => b.stop()));
    await api?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('--shard N --total-shards 3: disjoint parts whose union is the unsharded output', async () => {
    const shards = await Promise.all([0, 1, 2].map((n) => start([`--shard=${n}`, '--total-shards=3'])));
    const whole = await seriesOf(unsharded);
    assert.equal(whole.filter((l) => l.startsWith('backup_size_bytes')).length, OBJECTS);
    const parts = await Promise.all(shards.map(seriesOf));
    for (const part of parts) assert.ok(part.length > 0 && part.length < whole.length);
    assertPartition(parts, whole);
    // Self-metrics: ordinal, total, and kept + skipped = all objects.
    for (const [n, shard] of shards.entries()) {
      assert.deepEqual(await selfMetric(shard, 'crd_metrics_bridge_shard_ordinal'), [
        `crd_metrics_bridge_shard_ordinal ${n}`,
      ]);
      assert.deepEqual(await selfMetric(shard, 'crd_metrics_bridge_total_shards'), [
        'crd_metrics_bridge_total_shards 3',
      ]);
      const objects = await selfMetric(shard, 'crd_metrics_bridge_shard_objects');
      const kept = Number(/decision="kept"[^}]*\} (\d+)/.exec(objects.join('\n'))?.[1]);
      const skipped = Number(/decision="skipped"[^}]*\} (\d+)/.exec(objects.join('\n'))?.[1]);
      assert.equal(kept + skipped, OBJECTS);
      assert.equal(kept, parts[n]!.filter((l) => l.startsWith('backup_size_bytes')).length);
    }
    await Promise.all(shards.map((s) => s.stop()));
  });

  it('auto-sharding from a StatefulSet: 3 pods split the objects; scaled to 2, they rebalance without restart', async () => {
    const dry = await kubectl([
      'apply',
      '--dry-run=server',
      '-f',
      path.join(repoRoot, 'deploy/sharding/statefulset.yaml'),
    ]);
    assert.match(dry, /statefulset.apps\/crd-metrics-bridge created \(server dry run\)/);
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: STS, namespace: NAMESPACE },
        spec: {
          replicas: 3,
          serviceName: STS,
          selector: { matchLabels: { app: STS } },
          template: {
            metadata: { labels: { app: STS } },
            spec: { containers: [{ name: 'bridge', image: 'crd-metrics-bridge:test' }] },
          },
        },
      }),
    );
    const uid = (
      await kubectl(['get', 'statefulset', STS, '-n', NAMESPACE, '-o', 'jsonpath={.metadata.uid}'])
    ).trim();
    // No kubelet or controller-manager runs: create the pods the StatefulSet controller would.
    for (const n of [0, 1, 2]) {
      await kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${STS}-${n}`,
            namespace: NAMESPACE,
            labels: { app: STS },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'StatefulSet',
                name: STS,
                uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: { containers: [{ name: 'bridge', image: 'crd-metrics-bridge:test' }] },
        }),
      );
    }
    const pods = await Promise.all(
      [0, 1, 2].map((n) => start([`--pod=${STS}-${n}`, `--pod-namespace=${NAMESPACE}`])),
    );
    const whole = await seriesOf(unsharded);
    assertPartition(await Promise.all(pods.map(seriesOf)), whole);
    for (const [n, pod] of pods.entries())
      assert.deepEqual(await selfMetric(pod, 'crd_metrics_bridge_shard_ordinal'), [
        `crd_metrics_bridge_shard_ordinal ${n}`,
      ]);

    await kubectl(['scale', 'statefulset', STS, '-n', NAMESPACE, '--replicas=2']);
    for (const pod of pods.slice(0, 2)) {
      await until('the new total', async () =>
        (await selfMetric(pod, 'crd_metrics_bridge_total_shards'))[0] === 'crd_metrics_bridge_total_shards 2'
          ? true
          : undefined,
      );
      await until('the rebalance', () =>
        Promise.resolve(/"trigger":"shards".*config reloaded/.test(pod.log()) ? true : undefined),
      );
    }
    // Same processes (no restart), now two shards covering everything.
    assertPartition(await Promise.all(pods.slice(0, 2).map(seriesOf)), whole);
    // The third pod, scaled away, serves nothing while it waits to be stopped.
    await until('pod 2 to drop its objects', async () =>
      (await seriesOf(pods[2]!)).length === 0 ? true : undefined,
    );
    // KSM parity: the objects pod 0 keeps at total 2 are exactly those with jump(fnv64a(uid), 2) = 0.
    const uids = JSON.parse(await kubectl(['get', 'backups', '-A', '-o', 'json'])) as {
      items: { metadata: { name: string; namespace: string; uid: string } }[];
    };
    const { shardOf } = await import('../../src/kube/sharding.ts');
    const expected = uids.items
      .filter((o) => shardOf(o.metadata.uid, 2) === 0)
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
      .sort();
    const served = (await seriesOf(pods[0]!))
      .filter((l) => l.startsWith('backup_size_bytes'))
      .map((l) => {
        const ns = /namespace="([^"]+)"/.exec(l)?.[1];
        const name = /name="([^"]+)"/.exec(l)?.[1];
        return `${ns}/${name}`;
      })
      .sort();
    assert.deepEqual(served, expected);
  });
});
