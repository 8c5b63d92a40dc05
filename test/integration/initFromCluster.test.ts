// `init --from-cluster` against a real kube-apiserver (with etcd and RBAC): the CRDs it reads from
// the cluster draft the same config as their manifests do, and every way of not finding or not
// being allowed to read a CRD is one line and exit 1.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { runCli } from '../support/runCli.ts';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'init');

describe('init --from-cluster against a real kube-apiserver', () => {
  let api: KubeApiserverHandle;
  let work: string;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const init = (args: string[], kubeconfig = api.adminKubeconfigPath) =>
    runCli(['init', '--from-cluster', '--kubeconfig', kubeconfig, ...args]);

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'init-cluster-'));
    api = await startKubeApiserver();
    await kubectl([
      'apply',
      '-f',
      path.join(fixtures, 'widgets.crd.yaml'),
      '-f',
      path.join(fixtures, 'gadgets.crds.yaml'),
    ]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd', '--all']);
  });

  after(async () => {
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('drafts from the served CRDs exactly what their manifests give', async () => {
    const widget = await init(['shop.acme.io/Widget']);
    assert.equal(widget.stderr, '');
    assert.equal(widget.code, 0);
    assert.equal(widget.stdout, readFileSync(path.join(fixtures, 'widgets.config.yaml'), 'utf8'));

    // GROUP/* takes every kind of the group; the order of the arguments does not matter.
    const gadgets = await init(['fleet.acme.io/Cluster', 'devices.acme.io/*']);
    assert.equal(gadgets.code, 0, gadgets.stderr);
    assert.equal(gadgets.stdout, readFileSync(path.join(fixtures, 'gadgets.config.yaml'), 'utf8'));
  });

  it('takes a plural or singular name for the kind, and --version', async () => {
    const byPlural = await init(['shop.acme.io/widgets']);
    assert.equal(byPlural.code, 0, byPlural.stderr);
    assert.equal(byPlural.stdout, readFileSync(path.join(fixtures, 'widgets.config.yaml'), 'utf8'));
    const older = await init(['--version', 'v1alpha1', 'shop.acme.io/widget']);
    assert.equal(older.code, 0, older.stderr);
    assert.match(older.stdout, /version: v1alpha1\n/);
    const unserved = await init(['--version', 'v9', 'shop.acme.io/Widget']);
    assert.equal(unserved.code, 1);
    assert.equal(
      unserved.stderr,
      'error: the cluster (shop.acme.io/Widget): widgets.shop.acme.io: version v9 is not served (served: v1alpha1, v1)\n',
    );
  });

  it('a kind, a group or a CRD that is not there: one line each, exit 1', async () => {
    const r = await init(['shop.acme.io/Gizmo', 'nothing.acme.io/Thing', 'apps/Deployment']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      'error: shop.acme.io/Gizmo: no kind Gizmo in the API group shop.acme.io (kinds: Widget)',
      'error: nothing.acme.io/Thing: the cluster serves no API group nothing.acme.io',
      'error: apps/Deployment: not a custom resource (no CRD deployments.apps: a built-in or aggregated API)',
    ]);
  });

  it('RBAC: forbidden without get on the CRD, allowed with get on that one CRD only', async () => {
    const kubeconfig = await api.createServiceAccountKubeconfig('init-test', 'drafter');
    const denied = await init(['shop.acme.io/Widget'], kubeconfig);
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout, '');
    const lines = denied.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, denied.stderr);
    assert.match(
      lines[0]!,
      /^error: shop\.acme\.io\/Widget: forbidden to get customresourcedefinitions\/widgets\.shop\.acme\.io \(grant get on customresourcedefinitions\.apiextensions\.k8s\.io\): 403 /,
    );

    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: 'init-widgets-crd' },
            rules: [
              {
                apiGroups: ['apiextensions.k8s.io'],
                resources: ['customresourcedefinitions'],
                resourceNames: ['widgets.shop.acme.io'],
                verbs: ['get'],
              },
            ],
          },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: 'init-widgets-crd' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'init-widgets-crd' },
            subjects: [{ kind: 'ServiceAccount', name: 'drafter', namespace: 'init-test' }],
          },
        ],
      }),
    );
    // RBAC changes reach the authorizer through its informer: allow a moment.
    let allowed = await init(['shop.acme.io/Widget'], kubeconfig);
    for (let i = 0; i < 50 && allowed.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      allowed = await init(['shop.acme.io/Widget'], kubeconfig);
    }
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.stdout, readFileSync(path.join(fixtures, 'widgets.config.yaml'), 'utf8'));
    const other = await init(['devices.acme.io/Gadget'], kubeconfig);
    assert.equal(other.code, 1, 'only the one CRD was granted');
    assert.match(other.stderr, /forbidden to get customresourcedefinitions\/gadgets\.devices\.acme\.io/);
  });

  it('an API server that does not answer, and a context that does not exist: one line, exit 1', async () => {
    const dead = path.join(work, 'dead.kubeconfig');
    writeFileSync(
      dead,
      readFileSync(api.adminKubeconfigPath, 'utf8').replace(
        new URL(api.url).port,
        String(await closedPort()),
      ),
    );
    const r = await init(['shop.acme.io/Widget'], dead);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: shop\.acme\.io\/Widget: cannot reach the API server https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/,
    );

    const context = await runCli([
      'init',
      '--from-cluster',
      '--kubeconfig',
      api.adminKubeconfigPath,
      '--context',
      'nope',
      'shop.acme.io/Widget',
    ]);
    assert.equal(context.code, 1);
    assert.equal(context.stderr.trimEnd().split('\n').length, 1, context.stderr);
    assert.match(context.stderr, /^error: --context nope/);
  });
});

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
