import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startCollector } from '../harness/collector.ts';
import { freePort } from '../harness/ports.ts';
import { makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';
import { runCommand, serveAndScrape } from '../support/installedBridge.ts';

// The container image's application tree, built by the script the Dockerfile's build stage runs,
// and run the way the image runs it: as uid/gid 65534 (setpriv), with a clean environment, from a
// read-only tree with production dependencies only, on a copy of Node 24 laid out as in the
// distroless image (/nodejs/bin/node). Needs root for setpriv.
const RUN_AS = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const isRoot = process.getuid?.() === 0;

describe('container image tree', { skip: isRoot ? false : 'needs root to switch to uid 65534' }, () => {
  let work: string;
  let app: string;
  let node: string;
  let example: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'crd-metrics-bridge-image-'));
    chmodSync(work, 0o755);
    const built = join(work, 'built');
    const r = await runCommand('bash', [join(repoRoot, 'scripts', 'image', 'build-tree.sh'), built], {
      env: { ...process.env, NPM_FLAGS: '--prefer-offline' },
      timeoutMs: 600_000,
    });
    assert.equal(r.code, 0, r.stderr);
    // As COPY --from=build puts it: owned by root, and here also without write permission.
    app = join(work, 'app');
    cpSync(built, app, { recursive: true });
    rmSync(built, { recursive: true, force: true });
    await runCommand('chmod', ['-R', 'a-w', app]);
    mkdirSync(join(work, 'nodejs', 'bin'), { recursive: true });
    node = join(work, 'nodejs', 'bin', 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o555);
    example = join(work, 'example');
    cpSync(join(repoRoot, 'examples', 'backup'), example, { recursive: true });
  });

  after(async () => {
    if (!work) return;
    await runCommand('chmod', ['-R', 'u+w', work]);
    rmSync(work, { recursive: true, force: true });
  });

  /** `setpriv ... env -i PATH=... HOME=... node --max-semi-space-size=8 app/bin/...`, as the ENTRYPOINT. */
  const entrypoint = (extraEnv: string[] = []) => [
    ...RUN_AS,
    'env',
    '-i',
    `PATH=${join(work, 'nodejs', 'bin')}:/usr/bin:/bin`,
    'HOME=/nonexistent',
    ...extraEnv,
    node,
    '--max-semi-space-size=8',
    join(app, 'bin', 'crd-metrics-bridge.js'),
  ];

  it('holds the compiled CLI and production dependencies only', () => {
    assert.ok(existsSync(join(app, 'dist', 'main.js')));
    // The two packages the bundle loads from node_modules (exec kubeconfigs, OTEL_CONFIG_FILE).
    assert.ok(existsSync(join(app, 'node_modules', '@kubernetes', 'client-node')));
    assert.ok(existsSync(join(app, 'node_modules', '@opentelemetry', 'configuration')));
    // (@types/node is there: @kubernetes/client-node depends on it.) What dist/ bundles is a dev
    // dependency and is not installed again.
    for (const dev of [
      'typescript',
      'eslint',
      'prettier',
      'node',
      'typescript-eslint',
      'commander',
      'prom-client',
      'esbuild',
    ])
      assert.ok(!existsSync(join(app, 'node_modules', dev)), `dev dependency ${dev} in the tree`);
    assert.ok(!existsSync(join(app, 'src')), 'no TypeScript sources');
    const files = readdirSync(join(app, 'node_modules'), { recursive: true, encoding: 'utf8' });
    const unused = files.filter((f) => /\.(d\.[cm]?ts|map)$|(^|\/)(?!licen[cs]e)[^/]*\.md$/i.test(f));
    assert.deepEqual(unused.slice(0, 5), [], 'type declarations, source maps or READMEs in node_modules');
    const licences = files.filter((f) => /(^|\/)licen[cs]e[^/]*$/i.test(f));
    assert.ok(
      licences.some((f) => f.startsWith('@kubernetes/client-node/')),
      `licence files kept: ${licences.length}`,
    );
  });

  it('prints its version and revision, and checks a config, as 65534 from the read-only tree', async () => {
    const version = await runCommand('setpriv', [...entrypoint(), '--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^crd-metrics-bridge \S+ \(revision [0-9a-f]{12}(-dirty)?, node v24\./);
    // No writable temp directory either (a read-only root file system): the compile cache stays off quietly.
    const check = await runCommand('setpriv', [
      ...entrypoint([`TMPDIR=${app}`]),
      'check',
      `--config=${join(example, 'config.yaml')}`,
    ]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stderr, '');
    assert.match(check.stdout, /OK: 1 resource/);
  });

  it('runs --source files: on the example and serves it', async () => {
    const served = await serveAndScrape({
      command: 'setpriv',
      prefix: entrypoint([`TMPDIR=${app}`]),
      config: join(example, 'config.yaml'),
      source: `files:${example}`,
      env: {},
    });
    assert.match(served.metrics, /^backup_status\{namespace="default",name="test-backup"/m, served.log);
    assert.match(served.telemetry, /^process_open_fds \d+/m, served.log);
    assert.doesNotMatch(served.log, /EACCES|EROFS/, served.log);
    assert.equal(served.exit, 'exited with code 0', served.log);
  });

  it('pushes OTLP to a real Collector (the exporter, loaded on demand, is in the tree)', async () => {
    const collector = await startCollector();
    const logDir = makePeerDir('image-tree-otlp');
    const port = await freePort();
    try {
      const proc = await startProcess({
        name: 'crd-metrics-bridge',
        command: 'setpriv',
        args: [
          ...entrypoint([
            `TMPDIR=${app}`,
            'OTEL_METRICS_EXPORTER=otlp',
            `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${collector.otlpHttpEndpoint}/v1/metrics`,
            'OTEL_METRIC_EXPORT_INTERVAL=500',
            'OTEL_SERVICE_NAME=image-tree',
          ]),
          'run',
          `--config=${join(example, 'config.yaml')}`,
          `--source=files:${example}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--telemetry.listen-address=',
        ],
        logDir,
        ready: { url: `http://127.0.0.1:${port}/readyz` },
      });
      try {
        await collector.waitForFileExport((docs) => {
          const text = JSON.stringify(docs);
          return text.includes('"stringValue":"image-tree"') && text.includes('"name":"backup_size_bytes"');
        }, 30_000);
      } finally {
        await proc.stop();
      }
      assert.equal(proc.describeExit(), 'exited with code 0', proc.logTail(40));
    } finally {
      await collector.stop();
      removePeerDir(logDir);
    }
  });
});
