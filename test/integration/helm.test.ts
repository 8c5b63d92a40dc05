// The Helm chart, checked with the real helm (lint, template) and the real kube-apiserver: its
// manifests apply, its ClusterRole is what `rbac --config` prints, and the bridge runs with the
// chart's ConfigMap as the chart's ServiceAccount.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { repoRoot } from '../harness/binaries.ts';
import { chartDir, helm, helmTemplate, only } from '../harness/helm.ts';
import type { KubeManifest, RenderOptions } from '../harness/helm.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';
import { unexpectedListWatchFailures } from '../support/listWatchFailures.ts';

const ci = (name: string): string => path.join(chartDir, 'ci', `${name}-values.yaml`);
const VALUES_FILES = ['monitoring', 'network', 'custom-config'];
const CERT_MANAGER_CONFIG = path.join(repoRoot, 'examples/cert-manager/config.yaml');

const deployFile = (name: string): KubeManifest =>
  parse(readFileSync(path.join(repoRoot, 'deploy', name), 'utf8')) as KubeManifest;

function configOf(objects: readonly KubeManifest[]): string {
  const configMap = only(objects, 'ConfigMap', objects.find((o) => o.kind === 'Deployment')!.metadata.name);
  return configMap['data']['config.yaml'] as string;
}

describe('Helm chart', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-helm-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('passes helm lint --strict with the default and every ci/ values file', () => {
    for (const values of [[], ...VALUES_FILES.map((v) => [ci(v)])]) {
      const r = helm(['lint', '--strict', chartDir, ...values.flatMap((f) => ['--values', f])]);
      assert.equal(r.code, 0, `helm lint ${values.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders the hardened Deployment of deploy/ by default, and nothing that needs an operator', () => {
    const { objects } = helmTemplate();
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'Service',
      'ServiceAccount',
    ]);
    const deployment = only(objects, 'Deployment', 'crd-metrics-bridge');
    const shipped = deployFile('05-deployment.yaml');
    const pod = deployment['spec']['template']['spec'];
    const shippedPod = shipped['spec']['template']['spec'];
    assert.deepEqual(pod.securityContext, shippedPod.securityContext);
    const [container] = pod.containers;
    const [shippedContainer] = shippedPod.containers;
    assert.deepEqual(container.securityContext, shippedContainer.securityContext);
    assert.deepEqual(container.resources, shippedContainer.resources);
    assert.deepEqual(container.livenessProbe, shippedContainer.livenessProbe);
    assert.deepEqual(container.readinessProbe, shippedContainer.readinessProbe);
    assert.deepEqual(container.args, shippedContainer.args);
    assert.deepEqual(pod.nodeSelector, shippedPod.nodeSelector);
    assert.equal(container.image, 'ghcr.io/crd-metrics-bridge/crd-metrics-bridge:0.1.0');
    assert.deepEqual(envMap(container.env as EnvVar[]), envMap(shippedContainer.env as EnvVar[]));
    assert.equal(pod.serviceAccountName, 'crd-metrics-bridge');
    assert.equal(deployment['spec']['replicas'], 1);
    // The default config is the backup example's.
    assert.deepEqual(
      parse(configOf(objects)),
      parse(readFileSync(path.join(repoRoot, 'examples/backup/config.yaml'), 'utf8')),
    );
    const service = only(objects, 'Service');
    assert.equal(service['spec']['clusterIP'], 'None');
    assert.deepEqual(
      (service['spec']['ports'] as { name: string; port: number }[]).map((p) => `${p.name}:${p.port}`),
      ['http-metrics:8080', 'telemetry:8081'],
    );
  });

  it('rolls the pods when the config changes (checksum/config is the hash of config.yaml)', () => {
    const checksum = (objects: readonly KubeManifest[]): string =>
      only(objects, 'Deployment')['spec']['template']['metadata']['annotations']['checksum/config'] as string;
    const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
    const defaults = helmTemplate().objects;
    // The ConfigMap's text without its final newline (a map config gets one from `|`, a string
    // config has its own), so both forms hash the same way.
    assert.equal(sha256(configOf(defaults).replace(/\n$/, '')), checksum(defaults));
    const other = helmTemplate({ setFiles: { config: CERT_MANAGER_CONFIG } }).objects;
    assert.notEqual(checksum(other), checksum(defaults));
    assert.equal(checksum(helmTemplate({ set: ['replicas=3'] }).objects), checksum(defaults));
  });

  it('takes the config as a string verbatim (--set-file config=FILE)', () => {
    const { objects } = helmTemplate({ setFiles: { config: CERT_MANAGER_CONFIG } });
    assert.equal(configOf(objects), readFileSync(CERT_MANAGER_CONFIG, 'utf8'));
  });

  it('ships the mixin: ServiceMonitor, PrometheusRule (mixin/alerts.yaml) and dashboard ConfigMap', () => {
    const { objects } = helmTemplate({ values: [ci('monitoring')] });
    const monitor = only(objects, 'ServiceMonitor');
    assert.equal(monitor['spec']['jobLabel'], 'app.kubernetes.io/name');
    assert.equal(monitor.metadata.labels?.['release'], 'kube-prometheus-stack');
    assert.deepEqual(monitor['spec']['endpoints'], [
      { port: 'http-metrics', interval: '15s', scrapeTimeout: '10s', honorLabels: true },
      { port: 'telemetry', interval: '15s', scrapeTimeout: '10s', honorLabels: true },
    ]);
    // The job label the alerts select is the Service's app.kubernetes.io/name.
    assert.equal(only(objects, 'Service').metadata.labels?.['app.kubernetes.io/name'], 'crd-metrics-bridge');
    const rule = only(objects, 'PrometheusRule');
    const alerts = parse(readFileSync(path.join(repoRoot, 'mixin/alerts.yaml'), 'utf8')) as {
      groups: unknown;
    };
    assert.deepEqual(rule['spec']['groups'], alerts.groups);
    const dashboard = only(objects, 'ConfigMap', 'crd-metrics-bridge-dashboard');
    assert.equal(dashboard.metadata.labels?.['grafana_dashboard'], '1');
    assert.deepEqual(
      JSON.parse(dashboard['data']['crd-metrics-bridge.json'] as string),
      JSON.parse(readFileSync(path.join(repoRoot, 'mixin/dashboards/crd-metrics-bridge.json'), 'utf8')),
    );
  });

  it('renders a NetworkPolicy on the two ports and a PodDisruptionBudget when asked', () => {
    const { objects } = helmTemplate({ values: [ci('network')] });
    const policy = only(objects, 'NetworkPolicy');
    assert.deepEqual(policy['spec']['policyTypes'], ['Ingress', 'Egress']);
    assert.deepEqual(policy['spec']['podSelector']['matchLabels'], {
      'app.kubernetes.io/name': 'crd-metrics-bridge',
      'app.kubernetes.io/instance': 'crd-metrics-bridge',
    });
    const [ingress] = policy['spec']['ingress'];
    assert.deepEqual(
      (ingress.ports as { port: string }[]).map((p) => p.port),
      ['http-metrics', 'telemetry'],
    );
    assert.equal(ingress.from[0].podSelector.matchLabels['app.kubernetes.io/name'], 'prometheus');
    assert.equal(policy['spec']['egress'].length, 2);
    const pdb = only(objects, 'PodDisruptionBudget');
    assert.equal(pdb['spec']['minAvailable'], 1);
    assert.equal(pdb['spec']['maxUnavailable'], undefined);
    assert.equal(only(objects, 'Deployment')['spec']['replicas'], 2);
    // Without minAvailable, maxUnavailable applies.
    const other = helmTemplate({ set: ['podDisruptionBudget.enabled=true'] }).objects;
    assert.equal(only(other, 'PodDisruptionBudget')['spec']['maxUnavailable'], 1);
  });

  it('passes image digest, extra flags, environment and scheduling through', () => {
    const { objects } = helmTemplate({ values: [ci('custom-config')] });
    const deployment = only(objects, 'Deployment', 'bridge');
    const pod = deployment['spec']['template']['spec'];
    const [container] = pod.containers;
    assert.equal(
      container.image,
      'ghcr.io/crd-metrics-bridge/crd-metrics-bridge:0.2.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    assert.equal(container.imagePullPolicy, 'Always');
    assert.equal((container.args as string[]).at(-1), '--log.level=debug');
    const env = container.env as { name: string; value?: string; valueFrom?: unknown }[];
    assert.deepEqual(
      env.map((e) => e.name),
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_METRICS_EXPORTER', 'OTEL_SERVICE_NAME', 'POD_NAME'],
    );
    assert.equal(env.find((e) => e.name === 'OTEL_METRICS_EXPORTER')?.value, 'prometheus,otlp');
    assert.equal(pod.tolerations[0].key, 'dedicated');
    assert.ok(pod.affinity.nodeAffinity);
    assert.equal(only(objects, 'ClusterRoleBinding')['subjects'][0].name, 'bridge');
  });

  it('fails with one line on a config it cannot derive RBAC from', () => {
    const bad = path.join(work, 'bad-values.yaml');
    writeFileSync(
      bad,
      'config:\n  spec:\n    resources:\n      - groupVersionKind: {kind: Widget, version: v1}\n',
    );
    const r = helm(['template', 'x', chartDir, '--values', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /config\.spec\.resources\[0\]\.groupVersionKind\.group is required/);
    const notYaml = helm(['template', 'x', chartDir, '--set', 'config=kind: [unclosed']);
    assert.notEqual(notYaml.code, 0);
    assert.match(notYaml.stderr, /config: not valid YAML/);
  });

  const rbacCases: [string, RenderOptions][] = [
    ['the default values', {}],
    ...VALUES_FILES.map((v): [string, RenderOptions] => [`ci/${v}-values.yaml`, { values: [ci(v)] }]),
    ['--set-file config=examples/cert-manager/config.yaml', { setFiles: { config: CERT_MANAGER_CONFIG } }],
  ];
  for (const [name, options] of rbacCases) {
    it(`has the ClusterRole rules \`rbac --config\` prints, with ${name}`, async () => {
      const { objects } = helmTemplate(options);
      const configFile = path.join(work, `config-${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      writeFileSync(configFile, configOf(objects));
      const rbac = await runCli(['rbac', '--config', configFile]);
      assert.equal(rbac.code, 0, rbac.stderr);
      const expected = parse(rbac.stdout) as KubeManifest;
      const role = only(objects, 'ClusterRole');
      assert.deepEqual(role['rules'], expected['rules']);
    });
  }

  it('derives the plurals, wildcards and groups of the custom config as expected', () => {
    const role = only(helmTemplate({ values: [ci('custom-config')] }).objects, 'ClusterRole');
    const read = ['get', 'list', 'watch'];
    assert.deepEqual(role['rules'], [
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: read },
      { apiGroups: ['a-b.example.com'], resources: ['things'], verbs: read },
      { apiGroups: ['all.example.net'], resources: ['*'], verbs: read },
      { apiGroups: ['cert-manager.io'], resources: ['certificates'], verbs: read },
      {
        apiGroups: ['example.com'],
        resources: ['boxes', 'ingresses', 'keys', 'meshes', 'policies', 'watches'],
        verbs: read,
      },
      { apiGroups: ['zoo.example.org'], resources: ['octopodes'], verbs: read },
    ]);
  });

  describe('on a real kube-apiserver', () => {
    let api: KubeApiserverHandle;
    let bridge: BridgeHandle | undefined;
    const kubectl = async (args: string[], input?: string): Promise<string> => {
      const r = await api.kubectl(args, input === undefined ? {} : { input });
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };

    before(async () => {
      api = await startKubeApiserver();
      // Minimal stand-ins for the Prometheus Operator's CRDs, so its objects can be stored.
      await kubectl(['apply', '-f', '-'], standInCrd('servicemonitors', 'ServiceMonitor'));
      await kubectl(['apply', '-f', '-'], standInCrd('prometheusrules', 'PrometheusRule'));
      await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
      for (const crd of ['servicemonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']) {
        await kubectl(['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=30s']);
      }
      await kubectl([
        'wait',
        '--for=condition=Established',
        'crd/backups.backup.example.com',
        '--timeout=30s',
      ]);
      await kubectl(['create', 'namespace', 'monitoring']);
    });
    after(async () => {
      await bridge?.stop();
      await api?.stop();
    });

    it('every ci/ values file passes a server-side dry run', async () => {
      for (const values of VALUES_FILES) {
        const { text } = helmTemplate({ values: [ci(values)] });
        const out = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], text);
        assert.match(out, /deployment.apps\/\S+ serverside-applied \(server dry run\)/, values);
      }
    });

    it('the chart applies, and the bridge runs with its ConfigMap as its ServiceAccount and serves the objects', async () => {
      const { text, objects } = helmTemplate({ values: [ci('monitoring')] });
      const applied = await kubectl(['apply', '--server-side', '-f', '-'], text);
      for (const object of objects) {
        assert.match(
          applied,
          new RegExp(`${object.kind.toLowerCase()}\\S*/${object.metadata.name} serverside-applied`),
        );
      }
      // What the pod would mount: the ConfigMap as stored by the API server.
      const stored = await kubectl([
        'get',
        'configmap',
        'crd-metrics-bridge',
        '-n',
        'monitoring',
        '-o',
        'jsonpath={.data.config\\.yaml}',
      ]);
      const configFile = path.join(work, 'stored-config.yaml');
      writeFileSync(configFile, stored);
      // The ServiceAccount the Deployment names, and nothing else grants it anything.
      const deployment = only(objects, 'Deployment');
      const serviceAccount = deployment['spec']['template']['spec']['serviceAccountName'] as string;
      const as = `system:serviceaccount:monitoring:${serviceAccount}`;
      const can = async (...args: string[]): Promise<string> =>
        (await api.kubectl(['auth', 'can-i', ...args, `--as=${as}`])).stdout.trim();
      assert.equal(await can('watch', 'backups.backup.example.com', '--all-namespaces'), 'yes');
      assert.equal(await can('list', 'customresourcedefinitions.apiextensions.k8s.io'), 'yes');
      assert.equal(await can('list', 'secrets', '--all-namespaces'), 'no');
      assert.equal(await can('create', 'backups.backup.example.com'), 'no');

      const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', serviceAccount);
      const container = deployment['spec']['template']['spec']['containers'][0];
      const env = envMap(container.env as EnvVar[]);
      bridge = await startBridge({
        config: configFile,
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${kubeconfig}`],
        env,
      });
      await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
      const lines = await until('the backup series', async () => {
        const s = samples((await bridge!.scrape()).body, 'backup_');
        return s.length === 3 ? s : undefined;
      });
      assert.deepEqual(lines, [
        'backup_status{namespace="default",name="test-backup",target="s3://my-bucket"} 1',
        'backup_size_bytes{namespace="default",name="test-backup",target="s3://my-bucket"} 1048576',
        'backup_duration_seconds{namespace="default",name="test-backup",target="s3://my-bucket"} 300',
      ]);
      assert.equal((await httpRequest(`${bridge.url}/readyz`)).status, 200);
      const self = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
      assert.doesNotMatch(self, /reason="forbidden"/);
      assert.deepEqual(unexpectedListWatchFailures(bridge.log()), []);
    });
  });
});

interface EnvVar {
  name: string;
  value?: string;
}

function envMap(env: readonly EnvVar[]): Record<string, string | undefined> {
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

function standInCrd(plural: string, kind: string): string {
  return JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
}
