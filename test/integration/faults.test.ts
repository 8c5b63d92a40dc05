// The fault matrix of the Kubernetes source against a real kube-apiserver and etcd :
// each case ends with "the served series equal what the API server holds". The API server restart
// and RBAC revocation cases live in kubernetes.test.ts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
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
const SERVICE_ACCOUNT = 'faults';
const BACKUPS = '/apis/backup.example.com/v1/backups';

/** An API server, a fault proxy in front of it, and a bridge talking through the proxy with a token. */
class Rig {
  api!: KubeApiserverHandle;
  proxy!: FaultProxyHandle;
  bridge!: BridgeHandle;
  dir = makePeerDir('faults');
  kubeconfig = path.join(this.dir, 'bridge.kubeconfig');
  token = '';

  async start(extraArgs: string[] = []): Promise<void> {
    this.api = await startKubeApiserver({ extraArgs });
    this.proxy = await startFaultProxy({
      upstream: this.api.url,
      caFile: this.api.caFile,
      certFile: this.api.serverCertFile,
      keyFile: this.api.serverKeyFile,
    });
    await this.ok(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await this.ok(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
    await this.writeToken(await this.api.serviceAccountToken(NAMESPACE, SERVICE_ACCOUNT));
    await this.ok([
      'create',
      'clusterrolebinding',
      'faults-reader',
      '--clusterrole=view-crds',
      `--serviceaccount=${NAMESPACE}:${SERVICE_ACCOUNT}`,
    ]);
    await this.ok([
      'create',
      'clusterrole',
      'view-crds',
      '--verb=get,list,watch',
      '--resource=customresourcedefinitions.apiextensions.k8s.io,backups.backup.example.com',
    ]);
    for (const [n, s] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      await this.put(n, s);
    this.bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${this.kubeconfig}`],
    });
    await this.converged('the first sync');
  }

  async stop(): Promise<void> {
    await this.bridge?.stop();
    await this.proxy?.stop();
    await this.api?.stop();
    removePeerDir(this.dir);
  }

  /** The bridge's kubeconfig: the proxy's address, the API server's CA, a bearer token. */
  writeToken(token: string): Promise<void> {
    this.token = token;
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'proxy', cluster: { server: this.proxy.url, 'certificate-authority-data': this.api.caData } },
      ],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'sa' } }],
      'current-context': 'proxy',
    };
    writeFileSync(this.kubeconfig, JSON.stringify(config), { mode: 0o600 });
    return Promise.resolve();
  }

  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  put(name: string, size: number, namespace = 'default'): Promise<string> {
    return this.ok(
      ['apply', '-f', '-'],
      `apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: {target: t-${name}}\nstatus: {phase: Completed, sizeBytes: ${size}}\n`,
    );
  }

  /** What the API server holds, as `namespace/name=size`, sorted. */
  async held(): Promise<string> {
    const list = JSON.parse(await this.ok(['get', 'backups', '-A', '-o', 'json'])) as {
      items: { metadata: { namespace: string; name: string }; status?: { sizeBytes?: number } }[];
    };
    return list.items
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}=${o.status?.sizeBytes}`)
      .sort()
      .join(',');
  }

  /** What the bridge serves, in the same form. */
  async served(): Promise<string> {
    return samples((await this.bridge.scrape()).body, 'backup_size_bytes{')
      .map(
        (l) => `${/namespace="([^"]*)"/.exec(l)![1]}/${/name="([^"]*)"/.exec(l)![1]}=${l.split(' ').pop()}`,
      )
      .sort()
      .join(',');
  }

  /** Waits until the served series equal what the API server holds, and returns that. */
  async converged(what: string, timeoutMs = 60_000): Promise<string> {
    let held = '';
    let served = '';
    try {
      return await until(
        what,
        async () => {
          [held, served] = [await this.held(), await this.served()];
          return held === served ? held : undefined;
        },
        timeoutMs,
      );
    } catch (err) {
      assert.equal(served, held, `${(err as Error).message}: served ≠ held\n${this.bridge.log()}`);
      throw err;
    }
  }

  async selfMetrics(): Promise<string> {
    return (await httpRequest(`${this.bridge.telemetryUrl}/metrics`)).body;
  }

  async restarts(reason: string): Promise<number> {
    const m = new RegExp(
      `crd_metrics_bridge_reflector_restarts_total\\{target="backup.example.com/v1/backups",reason="${reason}"\\} (\\d+)`,
    ).exec(await this.selfMetrics());
    return m ? Number(m[1]) : 0;
  }
}

const isBackupWatch = (method: string, url: URL) =>
  method === 'GET' && url.pathname === BACKUPS && url.searchParams.get('watch') === '1';

describe('faults against a real kube-apiserver (through a fault proxy)', () => {
  const rig = new Rig();
  before(() => rig.start());
  after(() => rig.stop());

  it('etcd restart: keeps serving while etcd is down, then follows changes made after it is back', async () => {
    const before = await rig.served();
    await rig.api.stopEtcd();
    await delay(3000);
    assert.equal(await rig.served(), before, 'the cache keeps serving while etcd is down');
    assert.equal((await httpRequest(`${rig.bridge.url}/healthz`)).status, 200);
    await rig.api.startEtcd();
    await until(
      'the API server to read from etcd again',
      async () => ((await rig.api.kubectl(['get', 'backups', '-A'])).code === 0 ? true : undefined),
      60_000,
    );
    await rig.ok(['delete', 'backup', 'c', '-n', 'default']);
    await rig.put('a', 11);
    await rig.put('e', 5);
    assert.equal(
      await rig.converged('changes after the etcd restart'),
      'default/a=11,default/b=2,default/e=5',
    );
    assert.equal((await httpRequest(`${rig.bridge.url}/readyz`)).status, 200);
  });

  it('429 with Retry-After: waits at least that long between attempts, then catches up', async () => {
    const throttledBefore = await rig.restarts('throttled');
    rig.proxy.inject({
      status: 429,
      reason: 'TooManyRequests',
      message: 'too many requests, please try again later',
      headers: { 'retry-after': '3' },
      times: 2,
      match: isBackupWatch,
    });
    const from = rig.proxy.requests.length;
    rig.proxy.cutConnections();
    await rig.put('f', 6);
    await until(
      'two throttled restarts',
      async () => ((await rig.restarts('throttled')) >= throttledBefore + 2 ? true : undefined),
      30_000,
    );
    assert.equal(
      await rig.converged('changes after throttling'),
      'default/a=11,default/b=2,default/e=5,default/f=6',
    );
    const watches = rig.proxy.requests
      .slice(from)
      .filter((r) => isBackupWatch(r.method, new URL(r.url, 'https://x')));
    assert.deepEqual(
      watches.slice(0, 3).map((r) => r.status),
      [429, 429, 200],
      'two injected 429s, then a watch that went through',
    );
    for (let i = 1; i < 3; i++)
      assert.ok(
        watches[i]!.at - watches[i - 1]!.at >= 3000,
        `attempt ${i} came ${watches[i]!.at - watches[i - 1]!.at} ms after a 429 asking for 3 s`,
      );
    assert.equal(
      rig.proxy.requests.slice(from).filter((r) => r.url.startsWith(BACKUPS) && !r.url.includes('watch=1'))
        .length,
      0,
      'resumed the watch, no relist',
    );
  });

  it('401 with a rotated token: re-reads the kubeconfig and resumes the watch without relisting', async () => {
    const unauthorizedBefore = await rig.restarts('unauthorized');
    // Deleting the ServiceAccount invalidates its tokens; a new one with the same name gets a new token.
    const oldToken = rig.token;
    await rig.ok(['delete', 'serviceaccount', SERVICE_ACCOUNT, '-n', NAMESPACE]);
    await until(
      'the old token to be refused',
      async () => {
        const r = await httpRequest(`${rig.api.url}/apis`, {
          ca: rig.api.caPem,
          headers: { authorization: `Bearer ${oldToken}` },
        });
        return r.status === 401 ? true : undefined;
      },
      30_000,
    );
    // Reconnecting with the old token meets a 401 before the new token is written; written first,
    // a re-read of the token file could win the race and no 401 would be seen.
    const from = rig.proxy.requests.length;
    rig.proxy.cutConnections();
    await until(
      'a 401 on the reconnect with the old token',
      async () => ((await rig.restarts('unauthorized')) > unauthorizedBefore ? true : undefined),
      30_000,
    );
    await rig.writeToken(await rig.api.serviceAccountToken(NAMESPACE, SERVICE_ACCOUNT));
    await rig.put('g', 7);
    assert.equal(
      await rig.converged('changes after the token rotation'),
      'default/a=11,default/b=2,default/e=5,default/f=6,default/g=7',
    );
    assert.ok((await rig.restarts('unauthorized')) > unauthorizedBefore);
    const statuses = rig.proxy.requests
      .slice(from)
      .filter((r) => !r.injected)
      .map((r) => r.status);
    assert.ok(statuses.includes(401), `the API server itself refused the old token: ${statuses.join(',')}`);
    assert.match(rig.bridge.log(), /"reason":"unauthorized"/);
    assert.equal(
      rig.proxy.requests.slice(from).filter((r) => r.url.startsWith(BACKUPS) && !r.url.includes('watch=1'))
        .length,
      0,
      'resumed the watch with the new token, no relist',
    );
  });

  it('CRD deleted and re-created with different objects: the old series go, the new ones come', async () => {
    await rig.ok(['delete', 'crd', 'backups.backup.example.com', '--timeout=60s']);
    await until(
      'the series to go with the CRD',
      async () => ((await rig.served()) === '' ? true : undefined),
      60_000,
    );
    await rig.ok(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await rig.ok(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
    await rig.ok(['create', 'namespace', 'other']);
    await rig.put('x1', 100, 'other');
    await rig.put('y1', 200);
    assert.equal(await rig.converged('the re-created CRD'), 'default/y1=200,other/x1=100');
    assert.equal((await httpRequest(`${rig.bridge.url}/readyz`)).status, 200);
  });
});

describe('watch expiry forced by an etcd compaction (watch cache off, so watches are served by etcd)', () => {
  const rig = new Rig();
  // Without the watch cache the API server resumes a watch from etcd, which answers a compacted
  // revision with "required revision has been compacted": 410 Expired to the client.
  before(() => rig.start(['--watch-cache=false']));
  after(() => rig.stop());

  it('410 on resume → relist; a delete, an update and a create made during the gap are found', async () => {
    const expiredBefore = await rig.restarts('expired');
    rig.proxy.setDown(true);
    await rig.ok(['delete', 'backup', 'b', '-n', 'default']);
    await rig.put('a', 10);
    await rig.put('d', 4);
    const revision = await rig.api.compactEtcd();
    assert.ok(revision > 0);
    await delay(500);
    assert.equal(
      await rig.served(),
      'default/a=1,default/b=2,default/c=3',
      'nothing seen during the partition',
    );
    rig.proxy.setDown(false);
    assert.equal(await rig.converged('the relist after 410'), 'default/a=10,default/c=3,default/d=4');
    assert.ok(
      (await rig.restarts('expired')) > expiredBefore,
      'the resume was refused with 410 and relisted',
    );
    assert.equal((await httpRequest(`${rig.bridge.url}/readyz`)).status, 200);
  });
});
