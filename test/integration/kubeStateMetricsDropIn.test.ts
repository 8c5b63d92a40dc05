// A custom-resource-only kube-state-metrics Deployment with its image swapped for the bridge:
// the bridge runs with exactly the args the KSM Helm chart renders (no command, KSM's flags) on
// a real kube-apiserver, as the chart's ServiceAccount with the chart's ClusterRole, and
// serves the series KSM v2.20 serves for the same config and objects.
//
// The expected series (test/fixtures/ksm-drop-in/expected*.prom) were recorded from
// kube-state-metrics v2.20.0 run the same way (`UPDATE_GOLDEN=1` with a KSM binary). When a
// binary is there (KSM_BINARY, or ~/.cache/crd-metrics-bridge/bin/kube-state-metrics; build it
// with `GOBIN=… go install k8s.io/kube-state-metrics/v2@v2.20.0`), KSM runs next to the bridge and
// is held to the same files, so the files are checked against KSM itself.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { freePort } from '../harness/ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';
import { until } from '../support/until.ts';

const FIXTURES = path.join(repoRoot, 'test/fixtures/ksm-drop-in');

/**
 * The container args of charts/kube-state-metrics 8.4.0 (prometheus-community, app 2.20.0),
 * `helm template` with its ci/02-custom-resource-state-only-values.yaml plus
 * `selfMonitor.telemetryPort=8081` and `kubeconfig.enabled=true`.
 */
const CHART_ARGS = [
  '--custom-resource-state-only=true',
  '--port=8080',
  '--kubeconfig=/opt/k8s/.kube/config',
  '--telemetry-port=8081',
  '--custom-resource-state-config-file=/etc/customresourcestate/config.yaml',
];
/** The ClusterRole the same chart renders, with rbac.extraRules for this test's two kinds. */
const KSM_CHART_CLUSTER_ROLE = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: kube-state-metrics }
rules:
  - { apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [list, watch] }
  - { apiGroups: [ksm.example.com], resources: [databases], verbs: [list, watch] }
  - { apiGroups: [example.com], resources: [widgets], verbs: [list, watch] }
`;
/** What the chart adds for `namespaces: default,team-a,kube-system` and `namespacesDenylist: [kube-system]`. */
const CHART_NAMESPACE_ARGS = ['--namespaces=default,team-a,kube-system', '--namespaces-denylist=kube-system'];

function ksmBinary(): string | undefined {
  const cache = process.env.CRD_BRIDGE_CACHE || path.join(homedir(), '.cache', 'crd-metrics-bridge');
  return [process.env.KSM_BINARY, path.join(cache, 'bin', 'kube-state-metrics')].find(
    (c): c is string => Boolean(c) && existsSync(c!),
  );
}

/**
 * An exposition as a sorted set of lines that two exporters must agree on: HELP and TYPE of each
 * family with samples, and each sample as `name{labels, sorted} value` with the value as a number
 * (KSM writes `1.048576e+06` where the bridge writes `1048576`, docs/differences-from-kube-state-metrics.md).
 */
function normalize(exposition: string): string[] {
  const sampled = new Set<string>();
  const samples: string[] = [];
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort();
    sampled.add(m[1]!);
    samples.push(`${m[1]}{${labels.join(',')}} ${String(Number(m[3]))}`);
  }
  const headers = exposition
    .split('\n')
    .filter((l) => /^# (HELP|TYPE) /.test(l) && sampled.has(l.split(' ')[2]!));
  return [...headers, ...samples].sort();
}

function readExpected(name: string): string[] {
  return readFileSync(path.join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

interface Exporter {
  url: string;
  telemetryUrl: string;
  stop(): Promise<void>;
}

describe("kube-state-metrics' chart args with the bridge as the image", () => {
  let api: KubeApiserverHandle;
  let work: string;
  let kubeconfig: string;
  let config: string;

  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  /** Runs `command` with the chart's args, paths and ports replaced by this test's. */
  async function start(name: string, command: string[], extraArgs: string[] = []): Promise<Exporter> {
    const [port, telemetryPort] = [await freePort(), await freePort()];
    const args = [...CHART_ARGS, ...extraArgs].map((arg) =>
      arg
        .replace('--port=8080', `--port=${port}`)
        .replace('--telemetry-port=8081', `--telemetry-port=${telemetryPort}`)
        .replace('/etc/customresourcestate/config.yaml', config)
        .replace('/opt/k8s/.kube/config', kubeconfig),
    );
    const dir = makePeerDir(name);
    const proc = await startProcess({
      name,
      command: command[0]!,
      args: [...command.slice(1), ...args],
      env: { ...process.env, OTEL_METRICS_EXPORTER: 'prometheus' },
      cwd: repoRoot,
      logDir: dir,
      ready: { url: `http://127.0.0.1:${port}/healthz` },
      startTimeoutMs: 60_000,
    });
    return {
      url: `http://127.0.0.1:${port}`,
      telemetryUrl: `http://127.0.0.1:${telemetryPort}`,
      async stop() {
        await proc.stop();
        removePeerDir(dir);
      },
    };
  }

  const bridgeCommand = [process.execPath, path.join(repoRoot, 'bin', 'crd-metrics-bridge.js')];

  /**
   * Waits until the exporter serves exactly `expected` (both sync in the background); on timeout,
   * fails with the difference to what it served last.
   */
  async function assertServes(exporter: Exporter, expected: string[], what: string): Promise<void> {
    let last: string[] = [];
    try {
      await until(
        `${what} to serve the expected series`,
        async () => {
          last = normalize((await httpRequest(`${exporter.url}/metrics`, { timeoutMs: 10_000 })).body);
          return isDeepStrictEqual(last, expected) ? true : undefined;
        },
        30_000,
      );
    } catch {
      assert.deepEqual(last, expected, what);
    }
  }

  /** The bridge's series against the expected file; KSM's too when there is a binary. */
  async function compare(t: TestContext, file: string, extraArgs: string[], bridgeOnly: string[] = []) {
    const binary = ksmBinary();
    const update = process.env.UPDATE_GOLDEN === '1';
    if (update) {
      assert.ok(binary, 'UPDATE_GOLDEN records kube-state-metrics itself: set KSM_BINARY');
      const ksm = await start('kube-state-metrics', [binary], extraArgs);
      try {
        await delay(5_000);
        const body = (await httpRequest(`${ksm.url}/metrics`)).body;
        writeFileSync(path.join(FIXTURES, file), normalize(body).join('\n') + '\n');
      } finally {
        await ksm.stop();
      }
    }
    const expected = readExpected(file);
    const bridge = await start('bridge', bridgeCommand, extraArgs);
    try {
      await assertServes(bridge, [...expected, ...bridgeOnly].sort(), 'the bridge');
      // The chart's self-monitor scrapes the telemetry port.
      const self = await httpRequest(`${bridge.telemetryUrl}/metrics`);
      assert.match(
        self.body,
        /^crd_metrics_bridge_list_total\{target="ksm\.example\.com\/v1\/databases[^"]*",result="error"\} 0$/m,
      );
    } finally {
      await bridge.stop();
    }
    if (!binary) {
      t.diagnostic('no kube-state-metrics binary (KSM_BINARY): compared with the recorded KSM output only');
      return;
    }
    const ksm = await start('kube-state-metrics', [binary], extraArgs);
    try {
      await assertServes(ksm, expected, 'kube-state-metrics itself');
    } finally {
      await ksm.stop();
    }
  }

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-ksm-drop-in-'));
    config = path.join(work, 'config.yaml');
    writeFileSync(config, readFileSync(path.join(FIXTURES, 'config.yaml')));
    api = await startKubeApiserver();
    await kubectl(['apply', '-f', path.join(FIXTURES, 'crd.yaml')]);
    await kubectl(['apply', '-f', path.join(repoRoot, 'test/fixtures/kube/widgets-crd.yaml')]);
    await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s']);
    for (const ns of ['team-a', 'team-b', 'monitoring']) await kubectl(['create', 'namespace', ns]);
    await kubectl(['apply', '-f', path.join(FIXTURES, 'objects.yaml')]);
    // The chart's ServiceAccount with the chart's ClusterRole: list and watch on CRDs
    // (rbac.customResourceState) and on the custom resources (rbac.extraRules), nothing more.
    await kubectl(['apply', '-f', '-'], KSM_CHART_CLUSTER_ROLE);
    kubeconfig = await api.createServiceAccountKubeconfig('monitoring', 'kube-state-metrics');
    await kubectl([
      'create',
      'clusterrolebinding',
      'kube-state-metrics',
      '--clusterrole=kube-state-metrics',
      '--serviceaccount=monitoring:kube-state-metrics',
    ]);
  });

  after(async () => {
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('serves the series kube-state-metrics serves: names, labels, values, HELP and TYPE', async (t) => {
    await compare(t, 'expected.prom', []);
  });

  it('--namespaces and --namespaces-denylist as the chart renders them: the same namespaced series', async (t) => {
    // KSM lists a cluster-scoped kind per namespace too, which the API server answers with 404,
    // so it serves no Widget; the bridge watches cluster-scoped kinds cluster-wide.
    const widgets = readExpected('expected.prom').filter((l) => /widget_size/.test(l));
    assert.equal(widgets.filter((l) => !l.startsWith('#')).length, 2);
    await compare(t, 'expected-namespaces.prom', CHART_NAMESPACE_ARGS, widgets);
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
