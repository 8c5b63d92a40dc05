// The shipped kustomizations (deploy/, its components, examples/kustomize/*) on a real
// kube-apiserver: each overlay applies, and `kubectl delete -k` removes what it applied and deletes
// no namespace it did not create for itself. deploy/ deploys into `monitoring`, where Prometheus
// usually lives: a ConfigMap stands in for it and must survive every delete.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/** Every directory with a kustomization.yaml under deploy/ and examples/kustomize/, by its kind. */
function kustomizationDirs(): { dir: string; kind: string }[] {
  const found: { dir: string; kind: string }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'kustomization.yaml')
        found.push({ dir, kind: (parse(readFileSync(full, 'utf8')) as { kind: string }).kind });
    }
  };
  walk(path.join(repoRoot, 'deploy'));
  walk(path.join(repoRoot, 'examples', 'kustomize'));
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}

const rel = (dir: string): string => path.relative(repoRoot, dir) || '.';
/** The one namespace a shipped kustomization may create: the bridge's own (deploy/components/namespace). */
const OWN_NAMESPACE = 'crd-metrics-bridge';

describe('shipped kustomizations', () => {
  const dirs = kustomizationDirs();
  const overlays = dirs.filter((d) => d.kind === 'Kustomization');
  const components = dirs.filter((d) => d.kind === 'Component');
  let api: KubeApiserverHandle;
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const build = async (dir: string): Promise<Manifest[]> =>
    parseAllDocuments(await kubectl(['kustomize', dir])).map((d) => d.toJS() as Manifest);

  before(async () => {
    api = await startKubeApiserver();
    await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    // A minimal stand-in for the Prometheus Operator's CRD, for the ServiceMonitor overlay.
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'servicemonitors.monitoring.coreos.com' },
        spec: {
          group: 'monitoring.coreos.com',
          scope: 'Namespaced',
          names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      }),
    );
    await kubectl([
      'wait',
      '--for=condition=Established',
      'crd/servicemonitors.monitoring.coreos.com',
      'crd/backups.backup.example.com',
      '--timeout=30s',
    ]);
    // The namespace the base deploys into, with something else living in it.
    await kubectl(['create', 'namespace', 'monitoring']);
    await kubectl(['create', 'configmap', 'prometheus-lives-here', '-n', 'monitoring']);
  });
  after(async () => {
    await api?.stop();
  });

  it('are deploy/, the overlays of examples/kustomize/ and the optional components', () => {
    assert.deepEqual(
      overlays.map((d) => rel(d.dir)),
      [
        'deploy',
        'examples/kustomize/auth-filter',
        'examples/kustomize/own-namespace',
        'examples/kustomize/sharding',
        'examples/kustomize/with-servicemonitor',
      ],
    );
    assert.deepEqual(
      components.map((d) => rel(d.dir)),
      [
        'deploy/auth-filter',
        'deploy/components/namespace',
        'deploy/components/servicemonitor',
        'deploy/sharding',
      ],
    );
    // Every component is exercised by an overlay here.
    const used = overlays.flatMap((o) => {
      const k = parse(readFileSync(path.join(o.dir, 'kustomization.yaml'), 'utf8')) as {
        components?: string[];
      };
      return (k.components ?? []).map((c) => rel(path.resolve(o.dir, c)));
    });
    for (const c of components) assert.ok(used.includes(rel(c.dir)), `no overlay uses ${rel(c.dir)}`);
  });

  it('create no namespace but the bridge’s own, and only the own-namespace overlay creates that', async () => {
    for (const { dir } of overlays) {
      const namespaces = (await build(dir)).filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
      assert.deepEqual(
        namespaces,
        rel(dir) === 'examples/kustomize/own-namespace' ? [OWN_NAMESPACE] : [],
        rel(dir),
      );
    }
  });

  it('the components do what they say', async () => {
    const objects = async (name: string) => build(path.join(repoRoot, 'examples/kustomize', name));
    const args = (o: Manifest[], kind: string) =>
      o.find((x) => x.kind === kind)!.spec!.template!.spec!.containers![0]!.args!;
    assert.ok(args(await objects('auth-filter'), 'Deployment').includes('--auth-filter'));
    assert.ok(!args(await build(path.join(repoRoot, 'deploy')), 'Deployment').includes('--auth-filter'));
    const sharded = await objects('sharding');
    assert.equal(sharded.filter((o) => o.kind === 'Deployment').length, 0);
    assert.ok(args(sharded, 'StatefulSet').includes('--pod=$(POD_NAME)'));
    assert.ok(sharded.some((o) => o.kind === 'Role'));
    // Everything namespaced, and the bridge's own ClusterRoleBinding subject, moves to its namespace.
    const own = await objects('own-namespace');
    for (const o of own.filter((x) => x.metadata.namespace !== undefined))
      assert.equal(o.metadata.namespace, OWN_NAMESPACE, `${o.kind}/${o.metadata.name}`);
    const binding = own.find((o) => o.kind === 'ClusterRoleBinding')!;
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'crd-metrics-bridge', namespace: OWN_NAMESPACE },
    ]);
  });

  it('a health config in the documented overlay of deploy/ (ConfigMap patch, ClusterRole from `rbac --config`): checks, applies, and the bridge serves the health of every kind', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'kustomize-health-'));
    try {
      const config = [
        'kind: CustomResourceStateMetrics',
        'spec:',
        '  resources:',
        '    - groupVersionKind: { group: "*", version: "*", kind: "*" }',
        '      health: {}',
        '',
      ].join('\n');
      writeFileSync(path.join(work, 'config.yaml'), config);
      const checked = await runCli(['check', '--config', path.join(work, 'config.yaml')]);
      assert.equal(checked.code, 0, checked.stderr);
      const rbac = await runCli(['rbac', '--config', path.join(work, 'config.yaml')]);
      assert.equal(rbac.code, 0, rbac.stderr);
      writeFileSync(path.join(work, 'clusterrole.yaml'), rbac.stdout);
      writeFileSync(
        path.join(work, 'my-config.yaml'),
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'crd-metrics-bridge-config', namespace: 'monitoring' },
          data: { 'config.yaml': config },
        }),
      );
      writeFileSync(
        path.join(work, 'kustomization.yaml'),
        JSON.stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: [path.relative(work, path.join(repoRoot, 'deploy'))],
          patches: [{ path: 'my-config.yaml' }, { path: 'clusterrole.yaml' }],
        }),
      );
      const built = await build(work);
      const configMap = built.find((o) => o.kind === 'ConfigMap') as unknown as {
        data: Record<string, string>;
      };
      assert.equal(configMap.data['config.yaml'], config);
      const role = built.find((o) => o.kind === 'ClusterRole') as unknown as { rules: unknown[] };
      assert.deepEqual(role.rules, [
        {
          apiGroups: ['apiextensions.k8s.io'],
          resources: ['customresourcedefinitions'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] },
      ]);
      await kubectl(['apply', '-k', work]);
      // What the pod would mount, as its ServiceAccount.
      const stored = await kubectl([
        'get',
        'configmap',
        'crd-metrics-bridge-config',
        '-n',
        'monitoring',
        '-o',
        'jsonpath={.data.config\\.yaml}',
      ]);
      writeFileSync(path.join(work, 'stored.yaml'), stored);
      const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'crd-metrics-bridge');
      const bridge = await startBridge({
        config: path.join(work, 'stored.yaml'),
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${kubeconfig}`],
      });
      try {
        await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
        const health = await until('the Backup health series', async () => {
          const lines = samples((await bridge.scrape()).body, 'kube_customresource_health{').filter((l) =>
            l.includes('customresource_kind="Backup"'),
          );
          return lines.length === 5 ? lines : undefined;
        });
        assert.equal(health.filter((l) => l.endsWith(' 1')).length, 1, health.join('\n'));
        assert.equal((await httpRequest(`${bridge.url}/readyz`)).status, 200);
        assert.doesNotMatch((await httpRequest(`${bridge.telemetryUrl}/metrics`)).body, /reason="forbidden"/);
      } finally {
        await bridge.stop();
        await kubectl(['delete', '-k', work, '--wait=false']);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  // The own-namespace overlay last: the namespace it deletes stays Terminating here (no namespace
  // controller), so nothing could be created in it afterwards.
  const order = (dir: string) => (rel(dir).endsWith('own-namespace') ? 1 : 0);
  for (const { dir } of [...kustomizationDirs().filter((d) => d.kind === 'Kustomization')].sort(
    (a, b) => order(a.dir) - order(b.dir),
  )) {
    it(`kubectl apply -k then delete -k ${rel(dir)}: its objects come and go, no other namespace is touched`, async () => {
      const built = await build(dir);
      const applied = await kubectl(['apply', '-k', dir]);
      for (const o of built)
        assert.match(applied, new RegExp(`/${o.metadata.name} (created|configured|unchanged)`), `${o.kind}`);
      const workload = built.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')!;
      const ns = workload.metadata.namespace!;
      await kubectl(['get', workload.kind.toLowerCase(), workload.metadata.name, '-n', ns]);

      await kubectl(['delete', '-k', dir, '--wait=false']);
      const gone = await api.kubectl(['get', workload.kind.toLowerCase(), workload.metadata.name, '-n', ns]);
      assert.notEqual(gone.code, 0, `${workload.kind} still there after delete -k`);
      // monitoring and what lives in it are untouched.
      const monitoring = JSON.parse(await kubectl(['get', 'namespace', 'monitoring', '-o', 'json'])) as {
        metadata: { deletionTimestamp?: string };
        status: { phase: string };
      };
      assert.equal(
        monitoring.metadata.deletionTimestamp,
        undefined,
        'delete -k deleted namespace monitoring',
      );
      assert.equal(monitoring.status.phase, 'Active');
      await kubectl(['get', 'configmap', 'prometheus-lives-here', '-n', 'monitoring']);
      // The only namespace being deleted is one the overlay created for itself.
      const terminating = (
        JSON.parse(await kubectl(['get', 'namespaces', '-o', 'json'])) as {
          items: { metadata: { name: string; deletionTimestamp?: string } }[];
        }
      ).items
        .filter((n) => n.metadata.deletionTimestamp !== undefined)
        .map((n) => n.metadata.name);
      const created = built.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
      assert.deepEqual(terminating, created);
    });
  }
});
