// The container image as users get it: built by scripts/image/build-local.sh from the root
// Dockerfile (base images assembled locally, since no registry is reachable here) and run by podman
// the way the chart's pod spec runs it: read-only root file system, uid 65534, every capability
// dropped, no new privileges, the ConfigMap mounted read-only, an in-cluster ServiceAccount token,
// against a real kube-apiserver. Podman runs rootful with the flags this sandbox needs
// (scripts/image/podman-env.sh; docs/kubernetes.md, "The container image") and the host network,
// so the bridge listens on free loopback ports. A warm run reuses the built image (build-local.sh
// skips a build whose inputs are unchanged); each container start copies the image (vfs).
import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { containerCommandLine, helmTemplate, only, workloadOf } from '../harness/helm.ts';
import type { KubeManifest } from '../harness/helm.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { freePort } from '../harness/ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';
import type { CommandResult } from '../support/installedBridge.ts';
import { samples } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';
import { runCli } from '../support/runCli.ts';

const IMAGE = 'localhost/crd-metrics-bridge:dev';
/** As scripts/image/podman-env.sh: default storage with vfs, runc, cgroupfs; explicit rlimits. */
const PODMAN = ['--storage-driver', 'vfs', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
const ULIMITS = ['--ulimit', 'nofile=16384:16384', '--ulimit', 'nproc=16384:16384'];
/** The three lines of the seed article (examples/backup). */
const SEED_LINES = [
  'backup_status{namespace="default",name="test-backup",target="s3://my-bucket"} 1',
  'backup_size_bytes{namespace="default",name="test-backup",target="s3://my-bucket"} 1048576',
  'backup_duration_seconds{namespace="default",name="test-backup",target="s3://my-bucket"} 300',
];
const SHELLS = new Set([
  'sh',
  'bash',
  'dash',
  'ash',
  'zsh',
  'ksh',
  'mksh',
  'csh',
  'tcsh',
  'busybox',
  'toybox',
]);
const isRoot = process.getuid?.() === 0;

/** Runs a command to completion with no standard input (podman and the build script read none). */
function run(command: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({ code: code ?? 128, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr }),
    );
  });
}

const podman = (args: string[], timeoutMs = 120_000) => run('podman', [...PODMAN, ...args], timeoutMs);

interface Container {
  args?: string[];
  env?: unknown[];
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  containers: Container[];
  volumes: { name: string; configMap?: unknown; emptyDir?: { sizeLimit?: string } }[];
}

/**
 * `podman run` flags for what the pod spec asks of the container: its user and group, read-only
 * root, dropped capabilities, no privilege escalation, and its volumes (`dirs` maps a ConfigMap
 * volume to a host directory; an emptyDir becomes a tmpfs).
 */
function podmanFlagsFor(pod: PodSpec, container: Container, dirs: Record<string, string>): string[] {
  const sc = container.securityContext ?? {};
  const user = sc.runAsUser ?? pod.securityContext?.runAsUser;
  const group = sc.runAsGroup ?? pod.securityContext?.runAsGroup;
  assert.ok(user !== undefined && group !== undefined, 'the pod spec sets the user and group');
  const flags = ['--user', `${user}:${group}`];
  if (sc.readOnlyRootFilesystem) flags.push('--read-only', '--read-only-tmpfs=false');
  if (sc.capabilities?.drop?.includes('ALL')) flags.push('--cap-drop', 'all');
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes.find((v) => v.name === mount.name)!;
    // tmpfs takes k/m/g where Kubernetes writes Ki/Mi/Gi.
    if (volume.emptyDir)
      flags.push(
        '--tmpfs',
        `${mount.mountPath}:size=${(volume.emptyDir.sizeLimit ?? '16Mi').replace(/([kKMG])i$/, (_, u: string) => u.toLowerCase())}`,
      );
    else {
      assert.ok(dirs[mount.name], `a host directory for volume ${mount.name}`);
      flags.push('-v', `${dirs[mount.name]}:${mount.mountPath}:${mount.readOnly ? 'ro' : 'rw'}`);
    }
  }
  return flags;
}

/** What "as the chart runs it" means for the running process. */
const HARDENED = {
  uid: '65534',
  gid: '65534',
  capEff: '0000000000000000',
  capPrm: '0000000000000000',
  noNewPrivs: '1',
  readOnlyRoot: 'true',
};

/** The rendered args with the listen addresses moved to the given loopback ports (host network). */
function onLoopback(args: string[], port: number, telemetryPort: number): string[] {
  return args.map((a) =>
    a.startsWith('--web.listen-address=')
      ? `--web.listen-address=127.0.0.1:${port}`
      : a.startsWith('--telemetry.listen-address=')
        ? `--telemetry.listen-address=127.0.0.1:${telemetryPort}`
        : a,
  );
}

describe('container image', { skip: isRoot ? false : 'needs root (rootful podman)' }, () => {
  let work: string;
  let buildLog = '';
  const containers: string[] = [];

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'crd-metrics-bridge-image-'));
    // 65534 reads the directories mounted from here.
    chmodSync(work, 0o755);
    const build = await run('bash', [path.join(repoRoot, 'scripts', 'image', 'build-local.sh')], 30 * 60_000);
    buildLog = build.stderr;
    assert.equal(build.code, 0, build.stderr);
    assert.equal(build.stdout.trim(), IMAGE);
  });

  after(async () => {
    for (const name of containers) await podman(['rm', '--force', '--ignore', name]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs the image to completion (for `check`). */
  const runOnce = (flags: string[], args: string[]) => {
    const name = `crd-metrics-bridge-test-${process.pid}-${containers.length}`;
    containers.push(name);
    return podman(['run', '--rm', '--name', name, '--network', 'none', ...ULIMITS, ...flags, IMAGE, ...args]);
  };

  /** Starts the image serving on free loopback ports; resolves when /readyz answers 200. */
  const serve = async (flags: string[], args: (port: number, telemetryPort: number) => string[]) => {
    const name = `crd-metrics-bridge-test-${process.pid}-${containers.length}`;
    containers.push(name);
    const [port, telemetryPort] = [await freePort(), await freePort()];
    const logDir = makePeerDir('image');
    const proc = await startProcess({
      name: 'podman-bridge',
      command: 'podman',
      args: [
        ...PODMAN,
        'run',
        '--rm',
        '--name',
        name,
        '--network',
        'host',
        ...ULIMITS,
        ...flags,
        IMAGE,
        ...args(port, telemetryPort),
      ],
      logDir,
      ready: { url: `http://127.0.0.1:${port}/readyz` },
      // Starting a container copies the image on vfs.
      startTimeoutMs: 180_000,
      stopTimeoutMs: 15_000,
    });
    return {
      url: `http://127.0.0.1:${port}`,
      telemetryUrl: `http://127.0.0.1:${telemetryPort}`,
      proc,
      /** The running bridge process as the kernel sees it (its /proc/PID/status, from the host). */
      async status() {
        const r = await podman(['inspect', '--format', '{{.State.Pid}}', name]);
        assert.equal(r.code, 0, r.stderr);
        const fields = Object.fromEntries(
          readFileSync(`/proc/${r.stdout.trim()}/status`, 'utf8')
            .split('\n')
            .map((line) => line.split(/:\s+/, 2) as [string, string]),
        );
        const rootRo = await podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', name]);
        return {
          uid: fields['Uid']!.split(/\s+/)[0],
          gid: fields['Gid']!.split(/\s+/)[0],
          capEff: fields['CapEff'],
          capPrm: fields['CapPrm'],
          noNewPrivs: fields['NoNewPrivs'],
          readOnlyRoot: rootRo.stdout.trim(),
        };
      },
      async stop() {
        await proc.stop();
        const log = proc.logTail(60);
        removePeerDir(logDir);
        return { exit: proc.describeExit(), log };
      },
    };
  };

  it('podman image inspect: user 65534, an exec-form entrypoint, no shell in the entrypoint', async (t) => {
    const r = await podman(['image', 'inspect', IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    const [image] = JSON.parse(r.stdout) as {
      Size: number;
      Config: { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
    }[];
    assert.equal(image!.Config.User, '65534:65534');
    // Exec form: an array whose first element is the program (no `/bin/sh -c`).
    assert.deepEqual(image!.Config.Entrypoint, [
      '/nodejs/bin/node',
      '--max-semi-space-size=8',
      '/app/bin/crd-metrics-bridge.js',
    ]);
    assert.deepEqual(image!.Config.Cmd, [
      'run',
      '--config=/etc/crd-metrics-bridge/config.yaml',
      '--source=kubernetes',
    ]);
    assert.equal(image!.Config.Labels['org.opencontainers.image.title'], 'crd-metrics-bridge');
    assert.match(image!.Config.Labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{12}(-dirty)?$/);
    t.diagnostic(`image size: ${(image!.Size / 1e6).toFixed(1)} MB (${image!.Size} bytes)`);
    t.diagnostic(`build: ${buildLog.trim().split('\n').at(-1)}`);
  });

  it('has no shell anywhere, and what distroless provides: node, passwd with 65534 and 65532, CAs, tzdata', async () => {
    const mount = await podman(['image', 'mount', IMAGE]);
    assert.equal(mount.code, 0, mount.stderr);
    const root = mount.stdout.trim();
    try {
      const shells: string[] = [];
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) walk(full);
          else if (SHELLS.has(entry.name)) shells.push(path.relative(root, full));
        }
      };
      walk(root);
      assert.deepEqual(shells, [], 'shells in the image');
      // The mount is the image: the things a distroless Node image has are there.
      assert.ok(statSync(path.join(root, 'nodejs/bin/node')).isFile());
      assert.ok(statSync(path.join(root, 'app/dist/main.js')).isFile());
      const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8');
      assert.match(passwd, /^nobody:x:65534:65534:/m);
      assert.match(passwd, /^nonroot:x:65532:65532:/m);
      assert.match(
        readFileSync(path.join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8'),
        /BEGIN CERTIFICATE/,
      );
      assert.ok(statSync(path.join(root, 'usr/share/zoneinfo/Europe/Berlin')).isFile());
      assert.ok(readdirSync(path.join(root, 'var/lib/dpkg/status.d')).includes('libc6'));
    } finally {
      await podman(['image', 'unmount', IMAGE]);
    }
  });

  it("serves the seed's lines from examples/backup mounted read-only (uid 65534, read-only root, no capabilities)", async () => {
    const bridge = await serve(
      [
        '--user',
        '65534:65534',
        '--read-only',
        '--read-only-tmpfs=false',
        '--cap-drop',
        'all',
        '--security-opt',
        'no-new-privileges',
        '-v',
        `${path.join(repoRoot, 'examples', 'backup')}:/examples/backup:ro`,
      ],
      (port, telemetryPort) => [
        'run',
        '--config=/examples/backup/config.yaml',
        '--source=files:/examples/backup',
        `--web.listen-address=127.0.0.1:${port}`,
        `--telemetry.listen-address=127.0.0.1:${telemetryPort}`,
      ],
    );
    let stopped: { exit: string; log: string } | undefined;
    try {
      assert.deepEqual(await bridge.status(), HARDENED);
      const metrics = await httpRequest(`${bridge.url}/metrics`);
      assert.deepEqual(samples(metrics.body, 'backup_'), SEED_LINES);
      const telemetry = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
      assert.match(
        telemetry,
        /^crd_metrics_bridge_build_info\{version="[^"]+",revision="[0-9a-f]{12}(-dirty)?",nodejs_version="v24\./m,
      );
    } finally {
      stopped = await bridge.stop();
    }
    // SIGTERM through podman: a clean exit, and nothing tried to write to the read-only root.
    assert.equal(stopped.exit, 'exited with code 0', stopped.log);
    assert.doesNotMatch(stopped.log, /EROFS|EACCES|EPERM/, stopped.log);
  });

  it('checks and renders a health config with the rules it ships (rules/health), as the checkout does', async () => {
    const fixtures = path.join(repoRoot, 'test', 'fixtures', 'render', 'health');
    const hardened = [
      '--user',
      '65534:65534',
      '--read-only',
      '--cap-drop',
      'all',
      '-v',
      `${fixtures}:/health:ro`,
    ];
    const check = await runOnce(hardened, ['check', '--config=/health/config.yaml']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /cert-manager\.io\/v1 Certificate: kube_customresource_health, /);
    const rendered = await runOnce(hardened, [
      'render',
      '--config=/health/config.yaml',
      '/health/objects.yaml',
    ]);
    assert.equal(rendered.code, 0, rendered.stderr);
    const states = (text: string) => samples(text, 'kube_customresource_health{');
    const inImage = states(rendered.stdout);
    // cert-manager's own rule (rules/health/cert-manager.yaml): an expired certificate is degraded.
    assert.ok(
      inImage.includes(
        'kube_customresource_health{customresource_group="cert-manager.io",customresource_kind="Certificate",customresource_version="v1",name="expired",namespace="ns1",state="degraded"} 1',
      ),
      inImage.join('\n'),
    );
    const local = await runCli([
      'render',
      '--config',
      path.join(fixtures, 'config.yaml'),
      path.join(fixtures, 'objects.yaml'),
    ]);
    assert.equal(local.code, 0, local.stderr);
    assert.ok(inImage.length >= 40, `${inImage.length} health series`);
    assert.deepEqual(inImage, states(local.stdout));
  });

  describe("as the chart's pod, on a real kube-apiserver", () => {
    let api: KubeApiserverHandle;
    let objects: KubeManifest[];
    const kubectl = async (args: string[], input?: string): Promise<string> => {
      const r = await api.kubectl(args, input === undefined ? {} : { input });
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };

    before(async () => {
      api = await startKubeApiserver();
      await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
      await kubectl([
        'wait',
        '--for=condition=Established',
        'crd/backups.backup.example.com',
        '--timeout=30s',
      ]);
      await kubectl(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
      await kubectl(['create', 'namespace', 'monitoring']);
      // The chart's defaults (the backup example's config), plus target_info on /metrics to see
      // the resource the pod gets.
      objects = helmTemplate({ set: ['extraArgs={--otel.target-info}'] }).objects;
      await kubectl(
        ['apply', '--server-side', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      );
    });
    after(async () => {
      await api?.stop();
    });

    it('runs in-cluster with the ServiceAccount token, serves the objects, and names itself after the pod', async () => {
      const deployment = workloadOf(objects);
      const pod = deployment['spec']['template']['spec'] as PodSpec;
      const [container] = pod.containers;
      const podName = 'crd-metrics-bridge-6d5f8c7b9-x7k2p';
      // What kubelet would mount: the ConfigMap as stored, and the ServiceAccount's token and CA.
      const configDir = path.join(work, 'config');
      mkdirSync(configDir, { mode: 0o755 });
      writeFileSync(
        path.join(configDir, 'config.yaml'),
        await kubectl([
          'get',
          'configmap',
          'crd-metrics-bridge',
          '-n',
          'monitoring',
          '-o',
          'jsonpath={.data.config\\.yaml}',
        ]),
        { mode: 0o644 },
      );
      const serviceAccount = path.join(work, 'serviceaccount');
      mkdirSync(serviceAccount, { mode: 0o755 });
      const token = await api.serviceAccountToken('monitoring', pod.serviceAccountName!);
      writeFileSync(path.join(serviceAccount, 'token'), token, { mode: 0o644 });
      writeFileSync(path.join(serviceAccount, 'ca.crt'), api.caPem, { mode: 0o644 });
      writeFileSync(path.join(serviceAccount, 'namespace'), 'monitoring', { mode: 0o644 });
      const { args, env } = containerCommandLine(container, {
        'metadata.name': podName,
        'metadata.namespace': 'monitoring',
      });
      const apiPort = new URL(api.url).port;
      const bridge = await serve(
        [
          '--hostname',
          podName,
          ...podmanFlagsFor(pod, container!, { config: configDir }),
          '-v',
          `${serviceAccount}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
          ...Object.entries({
            ...env,
            KUBERNETES_SERVICE_HOST: '127.0.0.1',
            KUBERNETES_SERVICE_PORT: apiPort,
          }).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
        ],
        (port, telemetryPort) => onLoopback(args, port, telemetryPort),
      );
      let stopped: { exit: string; log: string } | undefined;
      try {
        // The pod spec's security contexts, as the kernel applies them to the bridge.
        assert.deepEqual(await bridge.status(), HARDENED);
        const body = await until('the backup series', async () => {
          const b = (await httpRequest(`${bridge.url}/metrics`)).body;
          return samples(b, 'backup_').length === 3 ? b : undefined;
        });
        assert.deepEqual(samples(body, 'backup_'), SEED_LINES);
        // service.instance.id from the pod name (the chart's OTEL_RESOURCE_ATTRIBUTES).
        assert.match(body, new RegExp(`^target_info\\{[^}]*service_instance_id="${podName}"`, 'm'));
        const telemetry = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
        assert.doesNotMatch(telemetry, /reason="forbidden"/);
        assert.match(telemetry, /^crd_metrics_bridge_target_synced\{[^}]*\} 1$/m);
      } finally {
        stopped = await bridge.stop();
      }
      assert.equal(stopped.exit, 'exited with code 0', stopped.log);
      assert.doesNotMatch(stopped.log, /EROFS|EACCES|EPERM/, stopped.log);
    });

    it("runs the chart's config check in the image: the config passes, a typo fails with one line", async () => {
      const job = only(objects, 'Job');
      const pod = job['spec']['template']['spec'] as PodSpec;
      const [container] = pod.containers;
      const { args } = containerCommandLine(container, {});
      const check = async (name: string, config: string) => {
        const dir = path.join(work, name);
        mkdirSync(dir, { mode: 0o755 });
        writeFileSync(path.join(dir, 'config.yaml'), config, { mode: 0o644 });
        return runOnce(podmanFlagsFor(pod, container!, { config: dir }), args);
      };
      const stored = only(objects, 'ConfigMap', 'crd-metrics-bridge-config-check')['data'][
        'config.yaml'
      ] as string;
      const typo = stored.replace('metricNamePrefix:', 'metricNamePrefx:');
      assert.notEqual(typo, stored);
      const [good, bad] = await Promise.all([check('check-good', stored), check('check-bad', typo)]);
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout, /OK: 1 resource/);
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(bad.stderr, /config\.yaml:\d+:\d+: .*metricNamePrefx/);
      assert.match(bad.stderr, /metricNamePrefix/, 'a did-you-mean');
    });
  });
});
