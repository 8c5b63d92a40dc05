// The Helm chart, checked with the real helm (lint, template) and the real kube-apiserver: its
// manifests apply, its ClusterRole is what `rbac --config` prints, and the bridge runs with the
// chart's ConfigMap as the chart's ServiceAccount.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../harness/binaries.ts';
import { chartDir, containerCommandLine, helm, helmTemplate, only, workloadOf } from '../harness/helm.ts';
import type { KubeManifest, RenderOptions } from '../harness/helm.ts';
import { otlpPushEnv, startCollector } from '../harness/collector.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import type { HttpRequestOptions } from '../harness/processes.ts';
import { makeCa, makeCert } from '../support/certs.ts';
import type { CertFiles } from '../support/certs.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';
import { until } from '../support/until.ts';
import { unexpectedListWatchFailures } from '../support/listWatchFailures.ts';
import { assertPartition } from '../support/partition.ts';

const ci = (name: string): string => path.join(chartDir, 'ci', `${name}-values.yaml`);
const VALUES_FILES = [
  'monitoring',
  'network',
  'custom-config',
  'autosharding',
  'web-config',
  'auth-filter',
  'health',
];
/** Objects for the auto-sharding run. */
const OBJECTS = 90;
const CERT_MANAGER_CONFIG = path.join(repoRoot, 'examples/cert-manager/config.yaml');

const deployFile = (name: string): KubeManifest =>
  parse(readFileSync(path.join(repoRoot, 'deploy', name), 'utf8')) as KubeManifest;

function configOf(objects: readonly KubeManifest[]): string {
  const configMap = only(objects, 'ConfigMap', workloadOf(objects).metadata.name);
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
      'ConfigMap', // the config check's (a hook)
      'Deployment',
      'Job', // the config check (a hook)
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
    const byName = (env: EnvVar[]) => [...env].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(byName(container.env as EnvVar[]), byName(shippedContainer.env as EnvVar[]));
    // One OTLP stream per pod: service.instance.id is the pod name, from the downward API.
    assert.deepEqual(
      containerCommandLine(container, { 'metadata.name': 'pod-a' }).env['OTEL_RESOURCE_ATTRIBUTES'],
      'service.instance.id=pod-a',
    );
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
      [
        'POD_NAME',
        'OTEL_EXPORTER_OTLP_ENDPOINT',
        'OTEL_METRICS_EXPORTER',
        'OTEL_SERVICE_NAME',
        'OTEL_RESOURCE_ATTRIBUTES',
        'NODE_IP',
      ],
    );
    assert.equal(env.find((e) => e.name === 'OTEL_METRICS_EXPORTER')?.value, 'prometheus,otlp');
    // The values' resource attributes follow the default service.instance.id.
    assert.equal(
      env.find((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value,
      'service.instance.id=$(POD_NAME),deployment.environment.name=staging',
    );
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
    it(`has the ClusterRole (and sharding Role) rules \`rbac --config\` prints, with ${name}`, async () => {
      const { objects } = helmTemplate(options);
      const configFile = path.join(work, `config-${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      writeFileSync(configFile, configOf(objects));
      // The flags follow what the rendered container runs with.
      const args = workloadOf(objects)['spec']['template']['spec']['containers'][0].args as string[];
      const authFilter = args.includes('--auth-filter');
      const autoSharding = args.includes('--pod=$(POD_NAME)');
      const rbac = await runCli([
        'rbac',
        '--config',
        configFile,
        ...(authFilter ? ['--auth-filter'] : []),
        ...(autoSharding ? ['--pod-sharding', 'monitoring'] : []),
      ]);
      assert.equal(rbac.code, 0, rbac.stderr);
      const expected = parseAllDocuments(rbac.stdout).map((d) => d.toJS() as KubeManifest);
      assert.deepEqual(
        only(objects, 'ClusterRole', workloadOf(objects).metadata.name)['rules'],
        only(expected, 'ClusterRole')['rules'],
      );
      if (autoSharding) {
        const role = only(objects, 'Role');
        assert.deepEqual(role['rules'], only(expected, 'Role')['rules']);
        assert.equal(role.metadata.namespace, only(expected, 'Role').metadata.namespace);
        const binding = only(objects, 'RoleBinding');
        assert.deepEqual(binding['roleRef'], {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: role.metadata.name,
        });
        assert.deepEqual(
          binding['subjects'],
          only(objects, 'ClusterRoleBinding', role.metadata.name.replace(/-sharding$/, ''))['subjects'],
        );
      } else {
        assert.equal(objects.filter((o) => o.kind === 'Role').length, 0);
        assert.equal(expected.filter((o) => o.kind === 'Role').length, 0);
      }
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

  it('health of every kind (group "*"): a ClusterRole on every resource of every group, and the config check passes the rules', async () => {
    const { objects } = helmTemplate({ values: [ci('health')] });
    const read = ['get', 'list', 'watch'];
    assert.deepEqual(only(objects, 'ClusterRole', 'cluster-health')['rules'], [
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: read },
      { apiGroups: ['*'], resources: ['*'], verbs: read },
      { apiGroups: ['bench.example.com'], resources: ['foos'], verbs: read },
    ]);
    assert.deepEqual(only(objects, 'ClusterRoleBinding', 'cluster-health')['roleRef'], {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'cluster-health',
    });
    // The config check hook's command on its ConfigMap: the health rules are validated (a CEL
    // mistake in the resource's own rule fails with its line and column).
    const hookConfig = only(objects, 'ConfigMap', 'cluster-health-config-check')['data'][
      'config.yaml'
    ] as string;
    const check = only(objects, 'Job')['spec']['template']['spec']['containers'][0];
    const mountPath = (check.volumeMounts as { mountPath: string }[])[0]!.mountPath;
    const run = async (config: string) => {
      const dir = mkdtempSync(path.join(work, 'health-check-'));
      writeFileSync(path.join(dir, 'config.yaml'), config);
      return runCli(containerCommandLine(check, {}).args.map((a) => a.replace(mountPath, dir)));
    };
    const passed = await run(hookConfig);
    assert.equal(passed.code, 0, passed.stderr);
    assert.match(passed.stdout, /\*\/\* \*: kube_customresource_health, /);
    assert.match(
      passed.stdout,
      /bench\.example\.com\/v1 Foo: kube_customresource_health, .*kube_customresource_status_condition/,
    );
    assert.ok(hookConfig.includes('object.spec.replicas == 0'));
    const failed = await run(hookConfig.replace('object.spec.replicas == 0', 'object.spec.replicas =='));
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /config\.yaml:\d+:\d+: spec\.resources\[1\]\.health\.rules\[0\]\.when: CEL/);
  });

  it('autosharding: a StatefulSet of `replicas` shards on the headless Service, with the pod of the Deployment plus the downward API', () => {
    const { objects } = helmTemplate({ values: [ci('autosharding')] });
    assert.equal(objects.filter((o) => o.kind === 'Deployment').length, 0);
    const statefulSet = only(objects, 'StatefulSet', 'crd-metrics-bridge');
    const service = only(objects, 'Service');
    assert.equal(statefulSet['spec']['serviceName'], service.metadata.name);
    assert.equal(service['spec']['clusterIP'], 'None');
    assert.equal(statefulSet['spec']['replicas'], 3);
    assert.equal(statefulSet['spec']['podManagementPolicy'], 'Parallel');
    assert.equal(statefulSet['spec']['volumeClaimTemplates'], undefined);
    const deployment = only(helmTemplate().objects, 'Deployment');
    assert.deepEqual(statefulSet['spec']['selector'], deployment['spec']['selector']);
    // The container of deploy/sharding/statefulset.yaml: --pod/--pod-namespace from the downward API.
    const shipped = only(
      parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/sharding/statefulset.yaml'), 'utf8')).map(
        (d) => d.toJS() as KubeManifest,
      ),
      'StatefulSet',
    );
    const pod = statefulSet['spec']['template']['spec'];
    const [container] = pod.containers;
    const [shippedContainer] = shipped['spec']['template']['spec']['containers'];
    assert.deepEqual(container.args, shippedContainer.args);
    const downward = (env: { name: string }[]) => env.filter((e) => e.name.startsWith('POD_'));
    assert.deepEqual(downward(container.env as EnvVar[]), downward(shippedContainer.env as EnvVar[]));
    assert.equal(downward(container.env as EnvVar[]).length, 2);
    // Everything else in the pod is the Deployment's.
    const [plainContainer] = deployment['spec']['template']['spec']['containers'];
    assert.deepEqual(container.args, [
      ...plainContainer.args,
      '--pod=$(POD_NAME)',
      '--pod-namespace=$(POD_NAMESPACE)',
    ]);
    assert.deepEqual(
      (container.env as EnvVar[]).filter((e) => !e.name.startsWith('POD_')),
      (plainContainer.env as EnvVar[]).filter((e) => !e.name.startsWith('POD_')),
    );
    const strip = (podSpec: unknown) => {
      const spec = podSpec as { containers: object[] };
      return { ...spec, containers: spec.containers.map((c) => ({ ...c, args: undefined, env: undefined })) };
    };
    assert.deepEqual(strip(pod), strip(deployment['spec']['template']['spec']));
    assert.deepEqual(statefulSet['spec']['template']['metadata'], deployment['spec']['template']['metadata']);
    // The PDB and the ServiceMonitor select the shards; the config roll works as for the Deployment.
    const podLabels = statefulSet['spec']['template']['metadata']['labels'] as Record<string, string>;
    const selects = (selector: unknown, labels: Record<string, string>) =>
      Object.entries(selector as Record<string, string>).every(([k, v]) => labels[k] === v);
    assert.ok(selects(only(objects, 'PodDisruptionBudget')['spec']['selector']['matchLabels'], podLabels));
    assert.ok(selects(service['spec']['selector'], podLabels));
    assert.ok(
      selects(only(objects, 'ServiceMonitor')['spec']['selector']['matchLabels'], service.metadata.labels!),
    );
    const checksum = (o: readonly KubeManifest[]) =>
      workloadOf(o)['spec']['template']['metadata']['annotations']['checksum/config'] as string;
    const other = helmTemplate({
      values: [ci('autosharding')],
      setFiles: { config: CERT_MANAGER_CONFIG },
    }).objects;
    assert.notEqual(checksum(other), checksum(objects));
    assert.equal(checksum(objects), checksum(helmTemplate().objects));
  });

  it('autosharding fails with one line unless the Service is headless', () => {
    const r = helm([
      'template',
      'x',
      chartDir,
      '--set',
      'autosharding.enabled=true',
      '--set',
      'service.clusterIP=',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /autosharding\.enabled needs the headless Service the StatefulSet names: set service\.clusterIP to None/,
    );
  });

  it('webConfig: a Secret holding the file, mounted with the TLS Secret, --web.config.file, HTTPS probes and ServiceMonitor', () => {
    const { objects } = helmTemplate({ values: [ci('web-config')] });
    const values = parse(readFileSync(ci('web-config'), 'utf8')) as { webConfig: { config: string } };
    const secret = only(objects, 'Secret', 'crd-metrics-bridge-web-config');
    const file = secret['stringData']['web-config.yml'] as string;
    assert.equal(file, values.webConfig.config);
    const pod = only(objects, 'Deployment')['spec']['template'];
    const [container] = pod.spec.containers;
    assert.ok(
      (container.args as string[]).includes('--web.config.file=/etc/crd-metrics-bridge-web/web-config.yml'),
    );
    assert.deepEqual(
      (container.volumeMounts as { name: string }[]).find((m) => m.name === 'web-config'),
      { name: 'web-config', mountPath: '/etc/crd-metrics-bridge-web', readOnly: true },
    );
    assert.deepEqual(
      (pod.spec.volumes as { name: string }[]).find((v) => v.name === 'web-config'),
      {
        name: 'web-config',
        projected: {
          sources: [
            { secret: { name: 'crd-metrics-bridge-web-config' } },
            { secret: { name: 'crd-metrics-bridge-tls' } },
          ],
        },
      },
    );
    assert.equal(
      pod.metadata.annotations['checksum/web-config'],
      createHash('sha256').update(values.webConfig.config).digest('hex'),
    );
    // TLS without required client certificates: kubelet probes over HTTPS (docs/serving.md).
    assert.deepEqual(container.livenessProbe.httpGet, {
      path: '/livez',
      port: 'http-metrics',
      scheme: 'HTTPS',
    });
    assert.deepEqual(container.readinessProbe.httpGet, {
      path: '/readyz',
      port: 'http-metrics',
      scheme: 'HTTPS',
    });
    const endpoints = only(objects, 'ServiceMonitor')['spec']['endpoints'] as Record<string, unknown>[];
    assert.equal(endpoints.length, 2);
    for (const endpoint of endpoints) {
      assert.equal(endpoint['scheme'], 'https');
      assert.deepEqual(endpoint['tlsConfig'], {
        ca: { secret: { name: 'crd-metrics-bridge-tls', key: 'ca.crt' } },
        serverName: 'crd-metrics-bridge.monitoring.svc',
      });
      assert.deepEqual(endpoint['basicAuth'], {
        username: { name: 'crd-metrics-bridge-scrape', key: 'username' },
        password: { name: 'crd-metrics-bridge-scrape', key: 'password' },
      });
      assert.equal(endpoint['bearerTokenFile'], undefined);
    }
    // Without webConfig: no Secret, no volume, plain HTTP probes.
    const plain = helmTemplate().objects;
    assert.equal(plain.filter((o) => o.kind === 'Secret').length, 0);
    assert.equal(only(plain, 'Deployment')['spec']['template']['spec']['volumes'].length, 2);
  });

  it('webConfig with required client certificates: tcpSocket probes (kubelet sends none)', () => {
    const mtls = path.join(work, 'mtls-values.yaml');
    writeFileSync(
      mtls,
      'webConfig:\n  config:\n    tls_server_config:\n      cert_file: tls.crt\n      key_file: tls.key\n' +
        '      client_auth_type: RequireAndVerifyClientCert\n      client_ca_file: ca.crt\n',
    );
    const { objects } = helmTemplate({ values: [mtls] });
    const [container] = only(objects, 'Deployment')['spec']['template']['spec']['containers'];
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      assert.equal(probe.httpGet, undefined);
      assert.deepEqual(probe.tcpSocket, { port: 'http-metrics' });
    }
    // An explicit scheme in the values is kept.
    const kept = helmTemplate({
      values: [ci('web-config')],
      set: ['livenessProbe.httpGet.scheme=HTTP'],
    }).objects;
    const [keptContainer] = only(kept, 'Deployment')['spec']['template']['spec']['containers'];
    assert.equal(keptContainer.livenessProbe.httpGet.scheme, 'HTTP');
    assert.equal(keptContainer.readinessProbe.httpGet.scheme, 'HTTPS');
  });

  it('authFilter: --auth-filter, the two create rules, the metrics-reader ClusterRole of deploy/auth-filter/ and a bearer token for the ServiceMonitor', () => {
    const { objects } = helmTemplate({ values: [ci('auth-filter')] });
    const [container] = only(objects, 'Deployment')['spec']['template']['spec']['containers'];
    assert.ok((container.args as string[]).includes('--auth-filter'));
    const deployDocs = (name: string) =>
      parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/auth-filter', name), 'utf8')).map(
        (d) => d.toJS() as KubeManifest,
      );
    const rules = only(objects, 'ClusterRole', 'crd-metrics-bridge')['rules'] as unknown[];
    assert.deepEqual(rules.slice(-2), only(deployDocs('auth-filter-rbac.yaml'), 'ClusterRole')['rules']);
    const reader = only(objects, 'ClusterRole', 'crd-metrics-bridge-metrics-reader');
    assert.deepEqual(reader['rules'], only(deployDocs('metrics-reader.yaml'), 'ClusterRole')['rules']);
    const binding = only(objects, 'ClusterRoleBinding', 'crd-metrics-bridge-metrics-reader');
    assert.deepEqual(binding['roleRef'], {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'crd-metrics-bridge-metrics-reader',
    });
    assert.deepEqual(binding['subjects'], [
      { kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' },
    ]);
    for (const endpoint of only(objects, 'ServiceMonitor')['spec']['endpoints'] as Record<
      string,
      unknown
    >[]) {
      assert.equal(endpoint['bearerTokenFile'], '/var/run/secrets/kubernetes.io/serviceaccount/token');
      assert.equal(endpoint['scheme'], undefined);
    }
    // An authorization from a Secret replaces the token file.
    const withSecret = helmTemplate({
      values: [ci('auth-filter')],
      set: [
        'prometheus.monitor.http.authorization.credentials.name=scrape-token',
        'prometheus.monitor.http.authorization.credentials.key=token',
        'prometheus.monitor.metrics.bearerTokenSecret.name=scrape-token',
        'prometheus.monitor.metrics.bearerTokenSecret.key=token',
      ],
    }).objects;
    const [endpoint, telemetryEndpoint] = only(withSecret, 'ServiceMonitor')['spec']['endpoints'] as Record<
      string,
      unknown
    >[];
    assert.equal(endpoint!['bearerTokenFile'], undefined);
    assert.deepEqual(endpoint!['authorization'], { credentials: { name: 'scrape-token', key: 'token' } });
    assert.equal(telemetryEndpoint!['bearerTokenFile'], undefined);
    assert.deepEqual(telemetryEndpoint!['bearerTokenSecret'], { name: 'scrape-token', key: 'token' });
    // Not enabled: none of it.
    const plain = helmTemplate({ values: [ci('monitoring')] }).objects;
    assert.equal(plain.filter((o) => o.metadata.name.endsWith('metrics-reader')).length, 0);
    assert.ok(
      !(only(plain, 'Deployment')['spec']['template']['spec']['containers'][0].args as string[]).includes(
        '--auth-filter',
      ),
    );
  });

  it('authFilter with basic_auth_users fails with one line', () => {
    const r = helm(['template', 'x', chartDir, '--values', ci('auth-filter'), '--values', ci('web-config')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /authFilter\.enabled cannot be combined with webConfig\.config\.basic_auth_users/);
  });

  it('values.schema.json rejects values the chart does not have, and fields in the wrong security context', () => {
    const refused: [string, RegExp][] = [
      // kube-state-metrics chart values this chart does not have.
      ['metricDenylist={kube_.*}', /additional properties 'metricDenylist' not allowed/],
      ['collectors={pods}', /additional properties 'collectors' not allowed/],
      // This chart's former names.
      ['podSecurityContext.runAsUser=1000', /additional properties 'podSecurityContext' not allowed/],
      ['serviceMonitor.enabled=true', /additional properties 'serviceMonitor' not allowed/],
      ['service.telemetryPort=9000', /at '\/service': additional properties 'telemetryPort' not allowed/],
      // A container field in the pod's security context, and the reverse.
      [
        'securityContext.readOnlyRootFilesystem=true',
        /at '\/securityContext': additional properties 'readOnlyRootFilesystem' not allowed/,
      ],
      [
        'containerSecurityContext.fsGroup=1',
        /at '\/containerSecurityContext': additional properties 'fsGroup' not allowed/,
      ],
      // Typos, nested too.
      [
        'prometheus.monitor.htpp.interval=1m',
        /at '\/prometheus\/monitor': additional properties 'htpp' not allowed/,
      ],
      ['replicas=two', /at '\/replicas'/],
      ['image.pullPolicy=Sometimes', /at '\/image\/pullPolicy'/],
    ];
    for (const [set, message] of refused) {
      const r = helm(['template', 'x', chartDir, '--set', set]);
      assert.notEqual(r.code, 0, `--set ${set} was accepted`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/, set);
      assert.match(r.stderr, message, set);
    }
    // Every value in values.yaml is in the schema (or the defaults would not render), and the
    // schema's top level lists nothing values.yaml lacks but `global` (Helm's, for parent charts).
    const schema = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    const values = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(schema.properties).filter((k) => !(k in values)),
      ['global'],
    );
  });

  it("takes the kube-state-metrics chart's value names with their meaning", () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered objects are read loosely
    const pod = (objects: KubeManifest[]): any => workloadOf(objects)['spec']['template']['spec'];
    // securityContext is the pod's (with `enabled`), containerSecurityContext the container's.
    const defaults = pod(helmTemplate().objects);
    assert.equal(defaults.securityContext.fsGroup, 65534);
    assert.equal(defaults.securityContext.enabled, undefined);
    assert.equal(defaults.containers[0].securityContext.readOnlyRootFilesystem, true);
    assert.equal(
      pod(helmTemplate({ set: ['securityContext.enabled=false'] }).objects).securityContext,
      undefined,
    );
    const custom = pod(
      helmTemplate({ set: ['securityContext.runAsUser=1000', 'containerSecurityContext.privileged=false'] })
        .objects,
    );
    assert.equal(custom.securityContext.runAsUser, 1000);
    assert.equal(custom.containers[0].securityContext.privileged, false);
    // prometheus.monitor: a ServiceMonitor, `http` for the metrics port and `metrics` for telemetry;
    // selfMonitor.enabled decides whether telemetry is on the Service and scraped.
    const monitored = helmTemplate({
      set: [
        'prometheus.monitor.enabled=true',
        'prometheus.monitor.http.interval=1m',
        'prometheus.monitor.metrics.interval=2m',
      ],
    }).objects;
    const endpoints = only(monitored, 'ServiceMonitor')['spec']['endpoints'] as {
      port: string;
      interval: string;
    }[];
    assert.deepEqual(
      endpoints.map((e) => `${e.port}@${e.interval}`),
      ['http-metrics@1m', 'telemetry@2m'],
    );
    const withoutSelf = helmTemplate({
      set: ['prometheus.monitor.enabled=true', 'selfMonitor.enabled=false'],
    }).objects;
    assert.deepEqual(
      (only(withoutSelf, 'ServiceMonitor')['spec']['endpoints'] as { port: string }[]).map((e) => e.port),
      ['http-metrics'],
    );
    assert.deepEqual(
      (only(withoutSelf, 'Service')['spec']['ports'] as { name: string }[]).map((p) => p.name),
      ['http-metrics'],
    );
    const telemetry = helmTemplate({
      set: ['selfMonitor.telemetryHost=::', 'selfMonitor.telemetryPort=9091'],
    }).objects;
    assert.ok(
      (pod(telemetry).containers[0].args as string[]).includes('--telemetry.listen-address=[::]:9091'),
    );
    assert.equal((only(telemetry, 'Service')['spec']['ports'] as { port: number }[])[1]!.port, 9091);
    // namespaces and namespacesDenylist: a comma-separated string or a list, as the KSM flags.
    const args = (set: string[]) => pod(helmTemplate({ set }).objects).containers[0].args as string[];
    assert.ok(args(['namespaces=a\\,b']).includes('--namespaces=a,b'));
    assert.ok(args(['namespaces={a,b}']).includes('--namespaces=a,b'));
    assert.ok(args(['namespacesDenylist=kube-system']).includes('--namespaces-denylist=kube-system'));
    assert.ok(!args([]).some((a) => a.startsWith('--namespaces')));
    const both = helm(['template', 'x', chartDir, '--set', 'namespaces=a', '--set', 'namespacesDenylist=b']);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /namespaces and namespacesDenylist cannot both be set/);
    // releaseLabel, image.registry and image.sha.
    const released = helmTemplate({
      release: 'kps',
      set: [
        'releaseLabel=true',
        'image.registry=registry.example.com',
        'image.repository=mirror/bridge',
        `image.sha=${'ab'.repeat(32)}`,
      ],
    }).objects;
    for (const o of released)
      assert.equal(o.metadata.labels?.['release'], 'kps', `${o.kind}/${o.metadata.name}`);
    assert.equal(
      pod(released).containers[0].image,
      `registry.example.com/mirror/bridge:0.1.0@sha256:${'ab'.repeat(32)}`,
    );
    // startupProbe.enabled, and the lower-case scheme of the KSM chart's probe values.
    const probed = pod(
      helmTemplate({
        set: [
          'startupProbe.enabled=true',
          'startupProbe.failureThreshold=30',
          'livenessProbe.httpGet.scheme=http',
        ],
      }).objects,
    ).containers[0];
    assert.deepEqual(probed.startupProbe, {
      failureThreshold: 30,
      httpGet: { path: '/healthz', port: 'http-metrics' },
    });
    assert.equal(probed.livenessProbe.httpGet.scheme, 'HTTP');
    assert.equal(defaults.containers[0].startupProbe, undefined);
    // podDisruptionBudget as a PDB spec.
    const budget = helmTemplate({ set: ['podDisruptionBudget.maxUnavailable=2'] }).objects;
    assert.equal(only(budget, 'PodDisruptionBudget')['spec']['maxUnavailable'], 2);
    assert.equal(helmTemplate().objects.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
    assert.equal(
      helmTemplate({
        set: ['podDisruptionBudget.maxUnavailable=2', 'podDisruptionBudget.enabled=false'],
      }).objects.filter((o) => o.kind === 'PodDisruptionBudget').length,
      0,
    );
  });

  it('checks the config before install and upgrade: a hook Job runs `check` in the chart image, as the pods run', async () => {
    const { objects } = helmTemplate({ values: [ci('custom-config')] });
    const job = only(objects, 'Job');
    assert.deepEqual(job.metadata['annotations'], {
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    const hookConfigMap = only(objects, 'ConfigMap', 'bridge-config-check');
    // Created before the Job (a lower weight), with the config the pods will get.
    assert.equal(
      (hookConfigMap.metadata['annotations'] as Record<string, string>)['helm.sh/hook-weight'],
      '-10',
    );
    assert.equal(hookConfigMap['data']['config.yaml'], configOf(objects));
    const jobPod = job['spec']['template']['spec'];
    const workloadPod = workloadOf(objects)['spec']['template']['spec'];
    const [check] = jobPod.containers;
    assert.equal(check.image, workloadPod.containers[0].image);
    assert.deepEqual(check.securityContext, workloadPod.containers[0].securityContext);
    assert.deepEqual(jobPod.securityContext, workloadPod.securityContext);
    assert.equal(job['spec']['backoffLimit'], 0);
    assert.equal(jobPod.restartPolicy, 'Never');
    // The Service, PDB and NetworkPolicy select the workload's pods by these two labels; not this one.
    const selector = only(objects, 'Service')['spec']['selector'] as Record<string, string>;
    const labels = job['spec']['template']['metadata']['labels'] as Record<string, string>;
    assert.ok(Object.entries(selector).some(([k, v]) => labels[k] !== v));
    // The container's command on the mounted config: a good one passes, one with a typo fails with
    // the line and column.
    const mount = (check.volumeMounts as { name: string; mountPath: string }[])[0]!;
    assert.deepEqual(
      (jobPod.volumes as { name: string; configMap: { name: string } }[]).find((v) => v.name === mount.name)!
        .configMap.name,
      hookConfigMap.metadata.name,
    );
    const { args } = containerCommandLine(check, {});
    assert.deepEqual(args, ['check', `--config=${mount.mountPath}/config.yaml`]);
    const run = async (config: string) => {
      const dir = mkdtempSync(path.join(work, 'check-'));
      writeFileSync(path.join(dir, 'config.yaml'), config);
      return runCli(args.map((a) => a.replace(mount.mountPath, dir)));
    };
    const passed = await run(hookConfigMap['data']['config.yaml']);
    assert.equal(passed.code, 0, passed.stderr);
    const typo = helmTemplate({
      setFiles: { config: path.join(repoRoot, 'test/fixtures/config-errors/unknown-keys.yaml') },
    }).objects;
    const failed = await run(
      only(typo, 'ConfigMap', 'crd-metrics-bridge-config-check')['data']['config.yaml'] as string,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /config\.yaml:\d+:\d+: /);
    // Off: no hook objects.
    const off = helmTemplate({ set: ['configCheck.enabled=false'] }).objects;
    assert.equal(off.filter((o) => o.kind === 'Job' || o.metadata.name.endsWith('-config-check')).length, 0);
  });

  it('gives each pod its own service.instance.id: two replicas push OTLP as two streams', async () => {
    const { objects } = helmTemplate({
      set: ['env.OTEL_METRICS_EXPORTER=otlp', 'env.OTEL_RESOURCE_ATTRIBUTES=k8s.cluster.name=test'],
    });
    const [container] = workloadOf(objects)['spec']['template']['spec']['containers'];
    const configFile = path.join(work, 'otlp-config.yaml');
    writeFileSync(configFile, configOf(objects));
    const collector = await startCollector();
    const replicas: BridgeHandle[] = [];
    try {
      for (const podName of ['crd-metrics-bridge-7f9c-aaaaa', 'crd-metrics-bridge-7f9c-bbbbb']) {
        const { env } = containerCommandLine(container, { 'metadata.name': podName });
        assert.equal(env['OTEL_RESOURCE_ATTRIBUTES'], `service.instance.id=${podName},k8s.cluster.name=test`);
        replicas.push(
          await startBridge({
            config: configFile,
            source: `files:${path.join(repoRoot, 'examples/backup')}`,
            env: {
              ...env,
              ...otlpPushEnv(collector, 500, { OTEL_METRICS_EXPORTER: env['OTEL_METRICS_EXPORTER'] }),
            },
          }),
        );
      }
      const instances = (docs: unknown[]) =>
        new Set(
          [
            ...JSON.stringify(docs).matchAll(
              /"key":"service\.instance\.id","value":\{"stringValue":"([^"]+)"/g,
            ),
          ].map((m) => m[1]),
        );
      const docs = await collector.waitForFileExport((d) => instances(d).size >= 2, 30_000);
      assert.deepEqual([...instances(docs)].sort(), [
        'crd-metrics-bridge-7f9c-aaaaa',
        'crd-metrics-bridge-7f9c-bbbbb',
      ]);
      // A value that sets service.instance.id itself is used as it is.
      const own = helmTemplate({ set: ['env.OTEL_RESOURCE_ATTRIBUTES=service.instance.id=fixed'] }).objects;
      const ownEnv = containerCommandLine(workloadOf(own)['spec']['template']['spec']['containers'][0], {
        'metadata.name': 'p',
      }).env;
      assert.equal(ownEnv['OTEL_RESOURCE_ATTRIBUTES'], 'service.instance.id=fixed');
    } finally {
      await Promise.allSettled(replicas.map((r) => r.stop()));
      await collector.stop();
    }
  });

  it('the PrometheusRule selects the job its ServiceMonitor gives, or prometheusRule.jobSelector', () => {
    const exprs = (set: string[]) =>
      JSON.stringify(
        only(helmTemplate({ set: ['prometheusRule.enabled=true', ...set] }).objects, 'PrometheusRule')[
          'spec'
        ],
      );
    assert.match(exprs([]), /up\{job=\\"crd-metrics-bridge\\"\}/);
    const renamed = exprs(['nameOverride=cr-bridge']);
    assert.match(renamed, /up\{job=\\"cr-bridge\\"\}/);
    assert.doesNotMatch(renamed, /job=\\"crd-metrics-bridge\\"/);
    const custom = exprs(['prometheusRule.jobSelector=job="x"\\,namespace="y"']);
    assert.match(custom, /scrape_duration_seconds\{job=\\"x\\",namespace=\\"y\\"\}/);
    assert.doesNotMatch(custom, /job=\\"crd-metrics-bridge\\"/);
  });

  describe('on a real kube-apiserver', () => {
    let api: KubeApiserverHandle;
    let bridge: BridgeHandle | undefined;
    const shardBridges: BridgeHandle[] = [];
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
      await Promise.allSettled(shardBridges.map((b) => b.stop()));
      await api?.stop();
    });

    it('every ci/ values file passes a server-side dry run', async () => {
      for (const values of VALUES_FILES) {
        const { text } = helmTemplate({ values: [ci(values)] });
        const out = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], text);
        assert.match(out, /(deployment|statefulset).apps\/\S+ serverside-applied \(server dry run\)/, values);
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
      const { env } = containerCommandLine(container, { 'metadata.name': 'crd-metrics-bridge-7f9c-x2x4z' });
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

    it('health of every kind: the chart applies, and with its ClusterRole the bridge finds and reads every custom resource kind', async () => {
      const { text, objects } = helmTemplate({ values: [ci('health')] });
      await kubectl(['apply', '--server-side', '-f', '-'], text);
      // Without the status subresource, `apply` sets status too (the test plays the controller).
      const foos = readFileSync(path.join(repoRoot, 'examples/aggregations/foos-crd.yaml'), 'utf8');
      await kubectl(['apply', '-f', '-'], foos.replace('      subresources: { status: {} }\n', ''));
      await kubectl(['wait', '--for=condition=Established', 'crd/foos.bench.example.com', '--timeout=30s']);
      const stored = await kubectl([
        'get',
        'configmap',
        'cluster-health',
        '-n',
        'monitoring',
        '-o',
        'jsonpath={.data.config\\.yaml}',
      ]);
      const configFile = path.join(work, 'stored-health-config.yaml');
      writeFileSync(configFile, stored);
      const deployment = only(objects, 'Deployment', 'cluster-health');
      const serviceAccount = deployment['spec']['template']['spec']['serviceAccountName'] as string;
      assert.equal(serviceAccount, 'cluster-health');
      const kubeconfig = await api.createServiceAccountKubeconfig('monitoring', serviceAccount);
      const container = deployment['spec']['template']['spec']['containers'][0];
      const { env } = containerCommandLine(container, { 'metadata.name': 'cluster-health-7f9c-x2x4z' });
      const healthBridge = await startBridge({
        config: configFile,
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${kubeconfig}`],
        env,
      });
      try {
        await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
        await kubectl(
          ['apply', '-f', '-'],
          [
            'apiVersion: bench.example.com/v1',
            'kind: Foo',
            'metadata: { name: web, namespace: default }',
            'spec: { replicas: 0 }',
            'status:',
            '  conditions:',
            '  - { type: Ready, status: "False", reason: Waiting, lastTransitionTime: "2026-12-01T10:00:00Z" }',
          ].join('\n'),
        );
        const stateOf = (body: string, kind: string): string | undefined =>
          samples(body, 'kube_customresource_health{')
            .find((l) => l.includes(`customresource_kind="${kind}"`) && l.endsWith(' 1'))
            ?.match(/state="(\w+)"/)?.[1];
        // Kinds of two groups found through their CRDs: the Backup under "*" by the generic rules,
        // the Foo by its own entry, whose rule (scaled to zero) comes before the generic ones.
        const body = await until('health of the Foo and the Backup', async () => {
          const b = (await healthBridge.scrape()).body;
          return stateOf(b, 'Foo') && stateOf(b, 'Backup') ? b : undefined;
        });
        assert.equal(stateOf(body, 'Foo'), 'suspended');
        assert.equal(stateOf(body, 'Backup'), 'healthy');
        assert.match(
          body,
          /^kube_customresource_status_condition\{[^}]*condition="Ready"[^}]*customresource_kind="Foo"[^}]*status="false"[^}]*\} 1$/m,
        );
        assert.equal((await httpRequest(`${healthBridge.url}/readyz`)).status, 200);
        const self = (await httpRequest(`${healthBridge.telemetryUrl}/metrics`)).body;
        assert.doesNotMatch(self, /reason="forbidden"/);
        assert.deepEqual(unexpectedListWatchFailures(healthBridge.log()), []);
      } finally {
        await healthBridge.stop();
      }
    });

    it('autosharding: the chart applies, and bridges run as its StatefulSet pods would split the objects exactly', async () => {
      const release = 'sharded';
      const { text, objects } = helmTemplate({ release, values: [ci('autosharding')] });
      const applied = await kubectl(['apply', '--server-side', '-f', '-'], text);
      assert.match(applied, /statefulset.apps\/sharded-crd-metrics-bridge serverside-applied/);
      assert.match(
        applied,
        /role.rbac.authorization.k8s.io\/sharded-crd-metrics-bridge-sharding serverside-applied/,
      );
      const statefulSet = only(objects, 'StatefulSet');
      const name = statefulSet.metadata.name;
      const namespace = statefulSet.metadata.namespace!;
      const podSpec = statefulSet['spec']['template']['spec'];
      const serviceAccount = podSpec.serviceAccountName as string;
      const configFile = path.join(work, 'sharded-config.yaml');
      writeFileSync(
        configFile,
        await kubectl(['get', 'configmap', name, '-n', namespace, '-o', 'jsonpath={.data.config\\.yaml}']),
      );
      const items = Array.from({ length: OBJECTS }, (_, i) => ({
        apiVersion: 'backup.example.com/v1',
        kind: 'Backup',
        metadata: { name: `shard-test-${i}`, namespace: i % 2 === 0 ? 'default' : 'monitoring' },
        spec: { target: `s3://bucket/${i}` },
        status: {
          phase: i % 3 === 0 ? 'Failed' : 'Completed',
          sizeBytes: i * 100,
          startTime: '2026-02-09T10:00:00Z',
          endTime: '2026-02-09T10:05:00Z',
        },
      }));
      await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      const total = (
        JSON.parse(await kubectl(['get', 'backups', '-A', '-o', 'json'])) as { items: unknown[] }
      ).items.length;
      assert.ok(total >= OBJECTS);

      // No controller-manager or kubelet: create the pods the StatefulSet controller would, owned by it.
      const uid = (
        await kubectl(['get', 'statefulset', name, '-n', namespace, '-o', 'jsonpath={.metadata.uid}'])
      ).trim();
      const replicas = statefulSet['spec']['replicas'] as number;
      const ordinals = Array.from({ length: replicas }, (_, n) => n);
      for (const n of ordinals) {
        await kubectl(
          ['apply', '-f', '-'],
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: `${name}-${n}`,
              namespace,
              labels: statefulSet['spec']['template']['metadata']['labels'],
              ownerReferences: [
                {
                  apiVersion: 'apps/v1',
                  kind: 'StatefulSet',
                  name,
                  uid,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            },
            spec: {
              serviceAccountName: serviceAccount,
              containers: [{ name: 'bridge', image: 'crd-metrics-bridge:test' }],
            },
          }),
        );
      }

      // Each bridge runs with the rendered container's args and env, as the chart's ServiceAccount;
      // only the config path and listen addresses are this machine's.
      const kubeconfig = await api.createServiceAccountKubeconfig(namespace, serviceAccount);
      const [container] = podSpec.containers;
      const configMount = (container.volumeMounts as { name: string; mountPath: string }[]).find(
        (m) => m.name === 'config',
      )!;
      const ownFlags = /^--(config|source|web\.listen-address|telemetry\.listen-address)=/;
      const startShard = async (n: number): Promise<BridgeHandle> => {
        const { args, env } = containerCommandLine(container, {
          'metadata.name': `${name}-${n}`,
          'metadata.namespace': namespace,
        });
        assert.equal(args[0], 'run');
        assert.ok(args.includes(`--config=${configMount.mountPath}/config.yaml`));
        assert.ok(args.includes('--source=kubernetes'));
        const passed = args.slice(1).filter((a) => !ownFlags.test(a));
        assert.deepEqual(passed, [`--pod=${name}-${n}`, `--pod-namespace=${namespace}`]);
        return startBridge({
          config: configFile,
          source: 'kubernetes',
          extraArgs: [...passed, `--kubeconfig=${kubeconfig}`],
          env,
        });
      };
      const { env: plainEnv } = containerCommandLine(container, {
        'metadata.name': 'unsharded',
        'metadata.namespace': namespace,
      });
      const all = await Promise.all([
        startBridge({
          config: configFile,
          source: 'kubernetes',
          extraArgs: [`--kubeconfig=${kubeconfig}`],
          env: plainEnv,
        }),
        ...ordinals.map(startShard),
      ]);
      shardBridges.push(...all);
      const [unsharded, ...shards] = all;
      const sizes = (lines: string[]) => lines.filter((l) => l.startsWith('backup_size_bytes')).length;
      const whole = await until('every object in the unsharded bridge', async () => {
        const lines = samples((await unsharded.scrape()).body, 'backup_').sort();
        return sizes(lines) === total ? lines : undefined;
      });
      const parts = await until('every object in one shard', async () => {
        const lines = await Promise.all(shards.map(async (s) => samples((await s.scrape()).body, 'backup_')));
        return lines.reduce((sum, l) => sum + sizes(l), 0) === total ? lines : undefined;
      });
      for (const part of parts) assert.ok(part.length > 0 && part.length < whole.length);
      assertPartition(parts, whole);
      for (const [n, shard] of shards.entries()) {
        const self = (await httpRequest(`${shard.telemetryUrl}/metrics`)).body;
        assert.match(self, new RegExp(`^crd_metrics_bridge_shard_ordinal ${n}$`, 'm'));
        assert.match(self, new RegExp(`^crd_metrics_bridge_total_shards ${replicas}$`, 'm'));
        assert.doesNotMatch(self, /reason="forbidden"/);
        assert.deepEqual(unexpectedListWatchFailures(shard.log()), []);
      }
    });

    it("authFilter: the chart's RBAC lets the bridge review tokens; the metrics-reader binding decides 200 or 403", async () => {
      const { text, objects } = helmTemplate({ release: 'filtered', values: [ci('auth-filter')] });
      await kubectl(['apply', '--server-side', '-f', '-'], text);
      const deployment = only(objects, 'Deployment');
      const namespace = deployment.metadata.namespace!;
      const podSpec = deployment['spec']['template']['spec'];
      const configFile = path.join(work, 'filtered-config.yaml');
      writeFileSync(configFile, configOf(objects));
      const kubeconfig = await api.createServiceAccountKubeconfig(
        namespace,
        podSpec.serviceAccountName as string,
      );
      const { args, env } = containerCommandLine(podSpec.containers[0], {
        'metadata.name': 'filtered-crd-metrics-bridge-5d8f-k2j9q',
      });
      const passed = args
        .slice(1)
        .filter((a) => !/^--(config|source|web\.listen-address|telemetry\.listen-address)=/.test(a));
      assert.deepEqual(passed, ['--auth-filter']);
      await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
      const filtered = await startBridge({
        config: configFile,
        source: 'kubernetes',
        extraArgs: [...passed, `--kubeconfig=${kubeconfig}`],
        env,
      });
      shardBridges.push(filtered);
      // The ci values bind the metrics-reader role to monitoring/prometheus-k8s, and nobody else.
      const [subject] = only(objects, 'ClusterRoleBinding', 'filtered-crd-metrics-bridge-metrics-reader')[
        'subjects'
      ];
      const allowed = await api.serviceAccountToken(subject.namespace as string, subject.name as string);
      const other = await api.serviceAccountToken(namespace, 'not-a-scraper');
      const get = (url: string, token?: string) =>
        httpRequest(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
      for (const base of [filtered.url, filtered.telemetryUrl]) {
        assert.equal((await get(`${base}/metrics`)).status, 401, base);
        assert.equal((await get(`${base}/metrics`, 'not-a-token')).status, 401, base);
        assert.equal((await get(`${base}/metrics`, other)).status, 403, base);
        assert.equal((await get(`${base}/metrics`, allowed)).status, 200, base);
      }
      assert.equal((await get(`${filtered.url}/readyz`)).status, 200);
      assert.match(
        (await get(`${filtered.url}/metrics`, allowed)).body,
        /^backup_size_bytes\{namespace="default",name="test-backup"/m,
      );
    });
  });
});

describe("the chart's web config, served by the bridge", () => {
  let work: string;
  const bridges: BridgeHandle[] = [];
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-helm-web-'));
  });
  after(async () => {
    await Promise.allSettled(bridges.map((b) => b.stop()));
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Lays out what the pod would see: the rendered Secret's web-config.yml and a cert-manager style
   * TLS Secret (tls.crt, tls.key, ca.crt) in one directory standing in for the projected volume,
   * and starts the bridge with the rendered container's --web.config.file mapped onto it.
   */
  async function serveRendered(
    name: string,
    objects: KubeManifest[],
    tls: (dir: string, ca: CertFiles) => Pick<HttpRequestOptions, 'ca' | 'cert' | 'key'>,
  ): Promise<{ bridge: BridgeHandle; container: KubeManifest['spec']; serverCa: string }> {
    const deployment = only(objects, 'Deployment');
    const [container] = deployment['spec']['template']['spec']['containers'];
    const mount = (container.volumeMounts as { name: string; mountPath: string }[]).find(
      (m) => m.name === 'web-config',
    )!;
    const dir = path.join(work, name);
    mkdirSync(path.join(dir, 'objects'), { recursive: true });
    const mounted = path.join(dir, 'web');
    mkdirSync(mounted);
    const secret = only(objects, 'Secret', `${deployment.metadata.name}-web-config`);
    writeFileSync(path.join(mounted, 'web-config.yml'), secret['stringData']['web-config.yml'] as string);
    const ca = makeCa(mounted, 'ca');
    makeCert(mounted, ca, 'tls');
    const { args, env } = containerCommandLine(container, {
      'metadata.name': 'crd-metrics-bridge-5d8f-k2j9q',
    });
    const flag = args.find((a) => a.startsWith('--web.config.file='))!;
    const file = flag.slice('--web.config.file='.length);
    assert.ok(file.startsWith(`${mount.mountPath}/`), `${file} is in the mounted directory`);
    writeFileSync(path.join(dir, 'config.yaml'), configOf(objects));
    writeFileSync(
      path.join(dir, 'objects', 'backup.yaml'),
      readFileSync(path.join(repoRoot, 'examples/backup/backup.yaml'), 'utf8'),
    );
    const bridge = await startBridge({
      config: path.join(dir, 'config.yaml'),
      source: `files:${path.join(dir, 'objects')}`,
      extraArgs: [`--web.config.file=${path.join(mounted, path.relative(mount.mountPath, file))}`],
      env,
      tls: tls(mounted, ca),
    });
    bridges.push(bridge);
    return { bridge, container, serverCa: readFileSync(ca.cert, 'utf8') };
  }

  it('TLS from the mounted Secret and basic auth: wrong password 401, right 200, probes reachable over HTTPS without credentials', async () => {
    const { objects } = helmTemplate({ values: [ci('web-config')] });
    const { bridge, container, serverCa } = await serveRendered('tls', objects, (_, ca) => ({
      ca: readFileSync(ca.cert),
    }));
    const basic = (user: string, password: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    for (const base of [bridge.url, bridge.telemetryUrl]) {
      const none = await httpRequest(`${base}/metrics`, { ca: serverCa });
      assert.equal(none.status, 401, base);
      assert.equal(none.headers['www-authenticate'], 'Basic');
      const wrong = await httpRequest(`${base}/metrics`, {
        ca: serverCa,
        headers: basic('prometheus', 'wrong'),
      });
      assert.equal(wrong.status, 401, base);
      const right = await httpRequest(`${base}/metrics`, {
        ca: serverCa,
        headers: basic('prometheus', 'changeme'),
      });
      assert.equal(right.status, 200, base);
      assert.equal(right.headers['x-content-type-options'], 'nosniff');
    }
    const served = await httpRequest(`${bridge.url}/metrics`, {
      ca: serverCa,
      headers: basic('prometheus', 'changeme'),
    });
    assert.equal(samples(served.body, 'backup_size_bytes').length, 1);
    // The certificate served is the mounted tls.crt.
    assert.equal(await servedCommonName(bridge.address), 'tls');
    // Plain HTTP is not served.
    await assert.rejects(httpRequest(`http://${bridge.address}/metrics`, { timeoutMs: 2000 }));
    // The rendered probes, as kubelet runs them: HTTPS, no certificate check, no credentials.
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      const { path: probePath, scheme } = probe.httpGet as { path: string; scheme: string };
      assert.equal(scheme, 'HTTPS');
      assert.equal(await kubeletHttpsGet(bridge.address, probePath), 200, probePath);
    }
  });

  it('client certificates required: the rendered tcpSocket probes connect; HTTPS without a client certificate is refused', async () => {
    const values = path.join(work, 'mtls-values.yaml');
    writeFileSync(
      values,
      [
        'webConfig:',
        '  config: |',
        '    tls_server_config:',
        '      cert_file: tls.crt',
        '      key_file: tls.key',
        '      client_auth_type: RequireAndVerifyClientCert',
        '      client_ca_file: ca.crt',
        '  tlsSecret:',
        '    name: crd-metrics-bridge-tls',
        '',
      ].join('\n'),
    );
    const { objects } = helmTemplate({ values: [values] });
    let client: CertFiles | undefined;
    const { bridge, container, serverCa } = await serveRendered('mtls', objects, (dir, ca) => {
      client = makeCert(dir, ca, 'client', 'client');
      return { ca: readFileSync(ca.cert), cert: readFileSync(client.cert), key: readFileSync(client.key) };
    });
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      assert.deepEqual(probe.tcpSocket, { port: 'http-metrics' });
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(bridge.address.split(':')[1]), '127.0.0.1', () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      });
    }
    await assert.rejects(httpRequest(`${bridge.url}/readyz`, { ca: serverCa, timeoutMs: 2000 }));
    const withCert = await httpRequest(`${bridge.url}/metrics`, {
      ca: serverCa,
      cert: readFileSync(client!.cert),
      key: readFileSync(client!.key),
    });
    assert.equal(withCert.status, 200);
    assert.equal(samples(withCert.body, 'backup_size_bytes').length, 1);
  });
});

/** A GET as kubelet's HTTPS probe makes it: no client certificate, the server's not verified. */
function kubeletHttpsGet(address: string, probePath: string): Promise<number> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const request = https.get(
      { host, port: Number(port), path: probePath, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.setTimeout(5000, () => request.destroy(new Error('probe timed out')));
  });
}

/** The subject CN of the certificate a TLS listener presents. */
function servedCommonName(address: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port), rejectUnauthorized: false }, () => {
      const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
      socket.destroy();
      resolve(String(subject?.CN));
    });
    socket.on('error', reject);
  });
}

interface EnvVar {
  name: string;
  value?: string;
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
