import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { freePort } from '../harness/ports.ts';
import { httpRequest } from '../harness/processes.ts';
import { envWithoutKubeCredentials, spawnCli } from '../support/spawnCli.ts';
import type { SpawnedCli } from '../support/spawnCli.ts';
import { until } from '../support/until.ts';

const CONFIG = path.join(repoRoot, 'examples/backup/config.yaml');
const OBJECTS = path.join(repoRoot, 'examples/backup');

/**
 * Wall time of Node start plus the imports `run` needs on this machine right now: the floor startup
 * failures are measured against, since the CPU is shared and a fixed bound would measure the load.
 */
let startupFloorMs = 0;

/** Node start plus what `run` imports (`--version` alone no longer loads them), in ms. */
async function measureStartupFloor(): Promise<number> {
  const began = Date.now();
  const floor = spawn(process.execPath, [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(path.join(repoRoot, 'src/cli/main.ts'))}); await import(${JSON.stringify(path.join(repoRoot, 'src/cli/runCommand.ts'))});`,
  ]);
  await new Promise((r) => floor.on('exit', r));
  return Date.now() - began;
}

/** Expected failures: exit 1, exactly one line on stderr, no stack trace, nothing on stdout. */
async function assertOneLineFailure(cli: SpawnedCli, pattern: RegExp): Promise<string> {
  const { code, at } = await cli.exited;
  const stderr = cli.stderr();
  assert.equal(code, 1, `exit code (stderr: ${stderr})`);
  assert.equal(stderr.split('\n').filter(Boolean).length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.equal(cli.stdout(), '');
  // Nothing waits on a network or retries: within 2 s of what starting Node takes.
  const took = at - cli.startedAt;
  const bound = (floorMs: number) => floorMs * 1.5 + 2_000;
  if (took >= bound(startupFloorMs)) {
    // The load may have grown since the floor was measured: measure it again, now.
    const now = await measureStartupFloor();
    assert.ok(
      took < bound(Math.max(startupFloorMs, now)),
      `took ${took} ms (floor ${startupFloorMs} ms, now ${now} ms)`,
    );
  }
  return stderr;
}

async function listenArgs(): Promise<string[]> {
  return [
    `--web.listen-address=127.0.0.1:${await freePort()}`,
    `--telemetry.listen-address=127.0.0.1:${await freePort()}`,
  ];
}

async function waitForHealthz(cli: SpawnedCli, args: string[]): Promise<string> {
  const url = `http://${args[0]!.split('=')[1]}`;
  await until(`/healthz (stderr: ${cli.stderr().slice(-500)})`, async () =>
    (await httpRequest(`${url}/healthz`)).status === 200 ? true : undefined,
  );
  return url;
}

describe('run: expected failures exit 1 with one line', () => {
  let home: string;
  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'bridge-home-'));
    startupFloorMs = await measureStartupFloor();
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('no Kubernetes credentials and not in a cluster: says what was looked for and suggests files', async () => {
    const cli = spawnCli(
      ['run', `--config=${CONFIG}`, ...(await listenArgs())],
      envWithoutKubeCredentials(home),
    );
    const line = await assertOneLineFailure(cli, /no Kubernetes credentials/);
    assert.match(line, /KUBECONFIG/);
    assert.match(line, /\.kube\/config/);
    assert.match(line, /KUBERNETES_SERVICE_HOST/);
    assert.match(line, /--source files:DIR/);
  });

  it('a KUBECONFIG that does not exist names the file', async () => {
    const env = { ...envWithoutKubeCredentials(home), KUBECONFIG: path.join(home, 'nope.yaml') };
    const cli = spawnCli(['run', `--config=${CONFIG}`, ...(await listenArgs())], env);
    // Missing files of a KUBECONFIG list are skipped, as client-go does; none left says which.
    await assertOneLineFailure(cli, /no file of KUBECONFIG \(.*nope\.yaml\) exists/);
  });

  it('a files: directory that does not exist', async () => {
    const cli = spawnCli(
      ['run', `--config=${CONFIG}`, '--source=files:/no/such/dir', ...(await listenArgs())],
      envWithoutKubeCredentials(home),
    );
    await assertOneLineFailure(cli, /^error: --source files:\/no\/such\/dir: no such directory\n$/);
  });

  it('a listen address in use names the address and the flag', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const cli = spawnCli(
        [
          'run',
          `--config=${CONFIG}`,
          `--source=files:${OBJECTS}`,
          `--web.listen-address=127.0.0.1:${port}`,
          `--telemetry.listen-address=127.0.0.1:${await freePort()}`,
        ],
        envWithoutKubeCredentials(home),
      );
      await assertOneLineFailure(
        cli,
        new RegExp(
          `^error: cannot listen on 127\\.0\\.0\\.1:${port} \\(--web\\.listen-address\\): address already in use\\n$`,
        ),
      );
    } finally {
      busy.close();
    }
  });

  it('an invalid listen address', async () => {
    const cli = spawnCli(
      ['run', `--config=${CONFIG}`, `--source=files:${OBJECTS}`, '--web.listen-address=localhost'],
      envWithoutKubeCredentials(home),
    );
    await assertOneLineFailure(cli, /invalid listen address "localhost"/);
  });

  it('a listen address that is not on this host', async () => {
    const cli = spawnCli(
      [
        'run',
        `--config=${CONFIG}`,
        `--source=files:${OBJECTS}`,
        '--web.listen-address=192.0.2.1:9999',
        `--telemetry.listen-address=127.0.0.1:${await freePort()}`,
      ],
      envWithoutKubeCredentials(home),
    );
    await assertOneLineFailure(
      cli,
      /^error: cannot listen on 192\.0\.2\.1:9999 \(--web\.listen-address\): address not available on this host\n$/,
    );
  });
});

describe('run: SIGTERM and SIGINT stop it within 2 s at any moment', () => {
  let work: string;
  const sinks: Server[] = [];
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-lifecycle-'));
  });
  after(() => {
    for (const s of sinks) s.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('during the first sync, with the API server unreachable (kubeconfig at a closed port)', async () => {
    const kubeconfig = path.join(work, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${await freePort()}", insecure-skip-tls-verify: true}}]\n` +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const args = await listenArgs();
    const cli = spawnCli(
      ['run', `--config=${CONFIG}`, `--kubeconfig=${kubeconfig}`, ...args],
      envWithoutKubeCredentials(work),
    );
    const url = await waitForHealthz(cli, args);
    assert.equal((await httpRequest(`${url}/readyz`)).status, 503);
    // Let it fail and back off at least once.
    await until('a failed list', () =>
      Promise.resolve(/list\/watch failed; retrying/.test(cli.stderr()) ? true : undefined),
    );
    const { code, ms } = await cli.signal('SIGTERM');
    assert.equal(code, 0, cli.stderr().slice(-2000));
    assert.ok(ms < 2_000, `stopped in ${ms} ms`);
    console.log(`stopped ${ms} ms after the signal`);
    assert.doesNotMatch(cli.stderr(), /\n\s+at /);
  });

  it('with the OTLP endpoint refusing connections (SIGINT)', async () => {
    const args = await listenArgs();
    const cli = spawnCli(['run', `--config=${CONFIG}`, `--source=files:${OBJECTS}`, ...args], {
      ...envWithoutKubeCredentials(work),
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${await freePort()}/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    });
    const url = await waitForHealthz(cli, args);
    await until('ready', async () =>
      (await httpRequest(`${url}/readyz`)).status === 200 ? true : undefined,
    );
    await until('a failed export', () =>
      Promise.resolve(/OTLP export failing/.test(cli.stderr()) ? true : undefined),
    );
    const { code, ms } = await cli.signal('SIGINT');
    assert.equal(code, 0, cli.stderr().slice(-2000));
    assert.ok(ms < 2_000, `stopped in ${ms} ms`);
    console.log(`stopped ${ms} ms after the signal`);
  });

  it('with the OTLP endpoint accepting connections and never answering', async () => {
    // A Collector that hangs: the final export must be cut by its timeout, not wait 30 s.
    const held: Socket[] = [];
    const blackhole = createServer((socket) => void held.push(socket));
    sinks.push(blackhole);
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as { port: number }).port;
    const args = await listenArgs();
    const cli = spawnCli(['run', `--config=${CONFIG}`, `--source=files:${OBJECTS}`, ...args], {
      ...envWithoutKubeCredentials(work),
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${port}/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    });
    const url = await waitForHealthz(cli, args);
    await until('ready', async () =>
      (await httpRequest(`${url}/readyz`)).status === 200 ? true : undefined,
    );
    await until('an export in flight', () => Promise.resolve(held.length > 0 ? true : undefined));
    const { code, ms } = await cli.signal('SIGTERM');
    for (const s of held) s.destroy();
    assert.equal(code, 0, cli.stderr().slice(-2000));
    assert.ok(ms < 2_000, `stopped in ${ms} ms`);
    console.log(`stopped ${ms} ms after the signal`);
    assert.match(cli.stderr(), /"msg":"stopped"/);
  });
});
