// A watch whose connection goes silent while staying open (a proxy or NAT that lost its upstream
// side without a word: the client's TCP keepalive probes are still answered, so keepalive cannot
// see it). The bridge must notice within a minute, watch again (from the last resourceVersion) and
// say so in /readyz and its self-metrics meanwhile. A real kube-apiserver and etcd behind the fault
// proxy; the changes are made directly on the API server, not through the proxy.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../harness/binaries.ts';
import { startFaultProxy } from '../harness/faultProxy.ts';
import type { FaultProxyHandle } from '../harness/faultProxy.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest, makePeerDir, removePeerDir } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';

const NAMESPACE = 'bridge';
const SERVICE_ACCOUNT = 'dead-watch';
const BACKUPS_TARGET = 'backup.example.com/v1/backups';
const CRDS_TARGET = 'apiextensions.k8s.io/v1/customresourcedefinitions';

describe('a watch that goes silent behind a proxy (real kube-apiserver)', () => {
  let api: KubeApiserverHandle;
  let proxy: FaultProxyHandle;
  let bridge: BridgeHandle;
  const dir = makePeerDir('dead-watch');

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const put = (name: string, size: number) =>
    kubectl(
      ['apply', '-f', '-'],
      `apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: ${name}, namespace: default}\nspec: {target: t-${name}}\nstatus: {phase: Completed, sizeBytes: ${size}}\n`,
    );
  /** The names the bridge serves a size for, sorted. */
  const served = async () =>
    samples((await bridge.scrape()).body, 'backup_size_bytes{')
      .map((l) => /name="([^"]*)"/.exec(l)![1])
      .sort()
      .join(',');
  const selfMetrics = async () => (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
  const restarts = async (reason: string, target = BACKUPS_TARGET) =>
    Number(
      new RegExp(
        `crd_metrics_bridge_reflector_restarts_total\\{target="${target}",reason="${reason}"\\} (\\d+)`,
      ).exec(await selfMetrics())?.[1] ?? 0,
    );

  before(async () => {
    api = await startKubeApiserver();
    proxy = await startFaultProxy({
      upstream: api.url,
      caFile: api.caFile,
      certFile: api.serverCertFile,
      keyFile: api.serverKeyFile,
    });
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
    const token = await api.serviceAccountToken(NAMESPACE, SERVICE_ACCOUNT);
    await kubectl([
      'create',
      'clusterrole',
      'dead-watch-reader',
      '--verb=get,list,watch',
      '--resource=customresourcedefinitions.apiextensions.k8s.io,backups.backup.example.com',
    ]);
    await kubectl([
      'create',
      'clusterrolebinding',
      'dead-watch-reader',
      '--clusterrole=dead-watch-reader',
      `--serviceaccount=${NAMESPACE}:${SERVICE_ACCOUNT}`,
    ]);
    const kubeconfig = path.join(dir, 'bridge.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'proxy', cluster: { server: proxy.url, 'certificate-authority-data': api.caData } },
        ],
        users: [{ name: 'sa', user: { token } }],
        contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'sa' } }],
        'current-context': 'proxy',
      }),
      { mode: 0o600 },
    );
    for (const [name, size] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ] as const)
      await put(name, size);
    bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${kubeconfig}`],
    });
    await until('the first sync', async () => ((await served()) === 'a,b,c,d' ? true : undefined), 60_000);
  });

  after(async () => {
    await bridge?.stop();
    await proxy?.stop();
    await api?.stop();
    removePeerDir(dir);
  });

  it(
    'open watches frozen, new connections fine: a deletion is served within 60 s',
    { timeout: 120_000 },
    async (t) => {
      const idleBefore = await restarts('idle');
      const crdIdleBefore = await restarts('idle', CRDS_TARGET);
      const frozenAt = Date.now();
      proxy.freezeOpenResponses();
      await kubectl(['delete', 'backup', 'b', '-n', 'default']);
      await until(
        'the deleted object to go',
        async () => ((await served()) === 'a,c,d' ? true : undefined),
        75_000,
      ).catch((err: Error) => assert.fail(`${err.message}; served ${bridge.log().slice(-2000)}`));
      const recoveredMs = Date.now() - frozenAt;
      t.diagnostic(`deletion served ${recoveredMs} ms after the watches froze`);
      assert.ok(recoveredMs <= 60_000, `took ${recoveredMs} ms`);
      assert.ok((await restarts('idle')) > idleBefore, 'counted as restarts_total{reason="idle"}');
      assert.match(bridge.log(), /presumed dead/);
      // The CRD watch froze too: once it is replaced as well, the bridge is ready.
      await until(
        'the CRD watch to be replaced too, and /readyz 200',
        async () =>
          (await restarts('idle', CRDS_TARGET)) > crdIdleBefore &&
          (await httpRequest(`${bridge.url}/readyz`)).status === 200,
        60_000,
      );
    },
  );

  it(
    'everything black-holed: /readyz turns 503 and says why, then recovers when traffic flows again',
    { timeout: 240_000 },
    async (t) => {
      proxy.setBlackHole(true);
      proxy.freezeOpenResponses();
      const frozenAt = Date.now();
      await kubectl(['delete', 'backup', 'c', '-n', 'default']);
      const notReady = await until(
        '/readyz to say 503',
        async () => {
          const r = await httpRequest(`${bridge.url}/readyz`);
          return r.status === 503 && r.body.includes(BACKUPS_TARGET) ? r.body : undefined;
        },
        75_000,
      );
      const detectedMs = Date.now() - frozenAt;
      t.diagnostic(`not ready ${detectedMs} ms after the freeze: ${notReady.trim()}`);
      assert.ok(detectedMs <= 60_000, `took ${detectedMs} ms`);
      assert.match(
        notReady,
        // Silent since its last event, or (when it had just been renewed) a request never answered.
        new RegExp(
          `${BACKUPS_TARGET.replace(/\./g, '\\.')} \\((watch silent for \\d+ s, |watch request unanswered for \\d+ s; ).*presumed dead`,
        ),
      );
      assert.match(
        await selfMetrics(),
        new RegExp(
          `crd_metrics_bridge_watch_presumed_dead\\{target="${BACKUPS_TARGET.replace(/\./g, '\\.')}"\\} 1`,
        ),
      );
      assert.equal(await served(), 'a,c,d', 'the cache keeps serving what it has meanwhile');
      const healedAt = Date.now();
      proxy.setBlackHole(false);
      await until(
        '/readyz 200 again',
        async () => ((await httpRequest(`${bridge.url}/readyz`)).status === 200 ? true : undefined),
        120_000,
      );
      await until(
        'the deletion made meanwhile to be served',
        async () => ((await served()) === 'a,d' ? true : undefined),
        10_000,
      );
      t.diagnostic(`ready again ${Date.now() - healedAt} ms after traffic flowed again`);
      assert.match(
        await selfMetrics(),
        new RegExp(
          `crd_metrics_bridge_watch_presumed_dead\\{target="${BACKUPS_TARGET.replace(/\./g, '\\.')}"\\} 0`,
        ),
      );
    },
  );
});
