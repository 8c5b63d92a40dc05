import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startCollector } from '../harness/collector.ts';
import { freePort } from '../harness/ports.ts';
import { makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';
import bcrypt from 'bcryptjs';
import { httpRequest } from '../harness/processes.ts';
import { runCli } from '../support/runCli.ts';
import { runCommand, serveAndScrape } from '../support/installedBridge.ts';
import { packageRoot, readRuleDocuments } from '../../src/engine/health/builtInRules.ts';
import { HealthRules } from '../../src/engine/health/HealthRules.ts';

// The package as users get it: `npm pack` (which runs `prepare`, i.e. the build), installed from the
// tarball into an empty project with production dependencies only, run through its bin on the
// Node 24 in this repo's node_modules (the launcher then loads dist/, not the TypeScript sources).
// dist/ is an esbuild bundle (scripts/build.js): the tests below also run what it loads only on
// demand (the OTLP exporter and CEL library entries, and @opentelemetry/configuration from the
// installed node_modules), which a bundle can break without the default `run` noticing.
const example = join(repoRoot, 'examples', 'backup');
const config = join(example, 'config.yaml');
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

describe('npm package', () => {
  let work: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  let packed: { files: { path: string }[]; size: number; filename: string };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'crd-metrics-bridge-package-'));
    const pack = await runCommand('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot });
    assert.equal(pack.code, 0, pack.stderr);
    packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const install = await runCommand(
      'npm',
      ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename)],
      { cwd: project, timeoutMs: 300_000 },
    );
    assert.equal(install.code, 0, install.stderr);
    bin = join(project, 'node_modules', '.bin', 'crd-metrics-bridge');
    // The bin's `#!/usr/bin/env node` must find Node 24: this repo's node_modules/.bin comes first.
    env = {
      PATH: [join(repoRoot, 'node_modules', '.bin'), process.env.PATH].join(delimiter),
      HOME: work,
      OTEL_METRICS_EXPORTER: 'prometheus',
    };
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the compiled CLI, docs and licence, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    const shipped = [
      'package.json',
      'LICENSE',
      'README.md',
      'bin/crd-metrics-bridge.js',
      'dist/main.js',
      'dist/createOtlpExporter.js',
      'dist/bufbuild-cel.js',
      'dist/bufbuild-cel-ext.js',
      'dist/bcryptWorker.js',
    ];
    for (const p of shipped) assert.ok(paths.includes(p), `${p} in the tarball`);
    assert.ok(paths.includes('dist/build-info.json'), 'build info with the git revision');
    const outside = paths.filter(
      (p) => !/^(dist|bin|docs|rules)\/|^(package\.json|README\.md|LICENSE)$/.test(p),
    );
    assert.deepEqual(outside, []);
    assert.ok(!paths.some((p) => p.endsWith('.ts')), 'no TypeScript in the tarball');
    assert.ok(!paths.some((p) => p.endsWith('.map')), 'no source maps in the tarball');
    const installed = join(work, 'project', 'node_modules');
    assert.ok(!existsSync(join(installed, 'typescript')), 'no dev dependencies installed');
    // What dist/ bundles is not installed again; the two packages it loads at run time are.
    assert.ok(!existsSync(join(installed, 'commander')), 'bundled dependencies not installed');
    assert.ok(existsSync(join(installed, '@kubernetes', 'client-node')), 'production dependencies installed');
    assert.ok(
      existsSync(join(installed, '@opentelemetry', 'configuration')),
      'production dependencies installed',
    );
  });

  it('ships the health rules where the installed code looks for them', () => {
    // The code is bundled into dist/ (a flat directory): the loader walks up from there to the
    // package root and reads rules/health/. Every shipped file must compile there.
    const paths = packed.files.map((f) => f.path);
    assert.ok(paths.includes('rules/health/generic.yaml'), 'generic rules in the tarball');
    const installedPackage = join(work, 'project', 'node_modules', 'crd-metrics-bridge');
    const root = packageRoot(join(installedPackage, 'dist', 'main.js'));
    assert.equal(root, installedPackage);
    const docs = readRuleDocuments(join(root, 'rules', 'health'));
    assert.deepEqual(
      docs.map((d) => `rules/health/${basename(d.file)}`).sort(),
      paths.filter((p) => p.startsWith('rules/health/')).sort(),
    );
    const rules = HealthRules.fromDocuments(docs);
    assert.equal(
      rules.verdict({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'x.io', 'Foo').state,
      'healthy',
    );
  });

  it('--version names the package version, revision and Node', async () => {
    const r = await runCommand(bin, ['--version'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^crd-metrics-bridge ${packageJson.version.replaceAll('.', '\\.')} \\(revision [0-9a-f]{12}(-dirty)?, node v24\\.`,
      ),
    );
  });

  it('check validates the example config', async () => {
    const r = await runCommand(bin, ['check', '--config', config], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OK/i);
    const bad = await runCommand(
      bin,
      ['check', '--config', join(repoRoot, 'test', 'fixtures', 'config-errors', 'invalid-path.yaml')],
      { env },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid-path\.yaml:9:21: /);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  });

  it('render prints what the sources print', async () => {
    const r = await runCommand(bin, ['render', '--config', config, example], { env });
    assert.equal(r.code, 0, r.stderr);
    const fromSources = await runCli(['render', '--config', config, example]);
    assert.equal(r.stdout, fromSources.stdout);
    assert.match(r.stdout, /^backup_status\{/m);
  });

  it('evaluates CEL the fast path defers, with the CEL library and its extensions from the bundle', async () => {
    // upperAscii() is a strings-extension function: only the library answers it.
    const celConfig = join(work, 'cel-config.yaml');
    writeFileSync(
      celConfig,
      readFileSync(config, 'utf8').replace(
        /valueExpression: 'has\(object\.status\)[^\n]*/,
        `valueExpression: 'object.spec.target.upperAscii() == "S3://MY-BUCKET" ? 7 : 3'`,
      ),
    );
    const r = await runCommand(bin, ['render', '--config', celConfig, example], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^backup_status\{namespace="default",name="test-backup",target="s3:\/\/my-bucket"\} 7$/m,
    );
  });

  it('pushes OTLP to a real Collector, set up by OTEL_* variables and by OTEL_CONFIG_FILE', async () => {
    // The OTLP exporter is a chunk of the bundle loaded on demand, and the declarative config
    // loads @opentelemetry/configuration from node_modules: both only run when a push is set up.
    const collector = await startCollector();
    const logDir = makePeerDir('installed-bridge-otlp');
    const started: Awaited<ReturnType<typeof startProcess>>[] = [];
    const startBridge = async (name: string, extraEnv: NodeJS.ProcessEnv) => {
      const port = await freePort();
      started.push(
        await startProcess({
          name,
          command: bin,
          args: [
            'run',
            `--config=${config}`,
            `--source=files:${example}`,
            `--web.listen-address=127.0.0.1:${port}`,
            '--telemetry.listen-address=',
          ],
          env: {
            ...env,
            OTEL_METRIC_EXPORT_INTERVAL: '500',
            BRIDGE_PROMETHEUS_HOST: '127.0.0.1',
            BRIDGE_PROMETHEUS_PORT: String(port),
            OTLP_METRICS_ENDPOINT: `${collector.otlpHttpEndpoint}/v1/metrics`,
            ...extraEnv,
          },
          logDir,
          ready: { url: `http://127.0.0.1:${port}/readyz` },
        }),
      );
    };
    try {
      await startBridge('bridge-otlp-env', {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${collector.otlpHttpEndpoint}/v1/metrics`,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
        OTEL_SERVICE_NAME: 'installed-env',
      });
      await startBridge('bridge-otlp-declarative', {
        OTEL_CONFIG_FILE: join(repoRoot, 'otel-config', 'bridge-declarative.yaml'),
        OTLP_ENCODING: 'json',
        OTEL_SERVICE_NAME: 'installed-declarative',
      });
      const pushedBy = (docs: unknown[], service: string) =>
        docs.some((d) => {
          const text = JSON.stringify(d);
          return (
            text.includes(`"service.name","value":{"stringValue":"${service}"}`) &&
            text.includes('"name":"backup_size_bytes"') &&
            text.includes('1048576')
          );
        });
      await collector.waitForFileExport(
        (docs) => pushedBy(docs, 'installed-env') && pushedBy(docs, 'installed-declarative'),
        30_000,
      );
    } finally {
      for (const proc of started) await proc.stop();
      await collector.stop();
      removePeerDir(logDir);
    }
  });

  it('checks basic-auth passwords on the bundled worker thread', async () => {
    // The worker is an entry of the bundle started by file name: only a password check loads it.
    const web = join(work, 'web.yml');
    writeFileSync(web, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 6)}\n`);
    const logDir = makePeerDir('installed-bridge-basic-auth');
    const port = await freePort();
    const proc = await startProcess({
      name: 'bridge-basic-auth',
      command: bin,
      args: [
        'run',
        `--config=${config}`,
        `--source=files:${example}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--telemetry.listen-address=',
        `--web.config.file=${web}`,
      ],
      env,
      logDir,
      ready: { url: `http://127.0.0.1:${port}/readyz` },
    });
    try {
      const auth = (password: string) => ({
        authorization: `Basic ${Buffer.from(`prometheus:${password}`).toString('base64')}`,
      });
      const ok = await httpRequest(`http://127.0.0.1:${port}/metrics`, { headers: auth('s3cret') });
      assert.equal(ok.status, 200, proc.logTail(20));
      assert.match(ok.body, /^backup_status\{/m);
      const wrong = await httpRequest(`http://127.0.0.1:${port}/metrics`, { headers: auth('nope') });
      assert.equal(wrong.status, 401, proc.logTail(20));
      assert.doesNotMatch(proc.logTail(40), /bcrypt worker failed/);
    } finally {
      await proc.stop();
      removePeerDir(logDir);
    }
  });

  it('run serves the example over loopback and stops on SIGTERM', async () => {
    const served = await serveAndScrape({
      command: bin,
      prefix: [],
      config,
      source: `files:${example}`,
      env,
    });
    assert.match(served.metrics, /^backup_status\{namespace="default",name="test-backup"/m, served.log);
    assert.match(served.telemetry, /^crd_metrics_bridge_\w+/m, served.log);
    assert.match(served.telemetry, /^process_resident_memory_bytes \d+/m, served.log);
    // What --version shows, per pod: the revision comes from the package's dist/build-info.json.
    assert.match(
      served.telemetry,
      new RegExp(
        `^crd_metrics_bridge_build_info\\{version="${packageJson.version.replaceAll('.', '\\.')}",revision="[0-9a-f]{12}(-dirty)?",nodejs_version="v24\\.[^"]+"\\} 1$`,
        'm',
      ),
      served.telemetry,
    );
    assert.equal(served.exit, 'exited with code 0', served.log);
  });
});
