import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startCollector } from '../harness/collector.ts';
import { freePort } from '../harness/ports.ts';
import { makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';
import bcrypt from 'bcryptjs';
import { httpRequest } from '../harness/processes.ts';
import { runCli } from '../support/runCli.ts';
import { samples } from '../support/bridgeProcess.ts';
import { runCommand, serveAndScrape } from '../support/installedBridge.ts';
import { checkoutNode, npmCli, registryNode } from './nodeRuntimes.ts';
import type { NodeRuntime } from './nodeRuntimes.ts';
import { packageRoot, readRuleDocuments } from '../../src/engine/health/builtInRules.ts';
import { HealthRules } from '../../src/engine/health/HealthRules.ts';

// The package as users get it: `npm pack` (prepack builds dist/ and writes the shipped manifest;
// here in a copy of the checkout), installed from the tarball into an empty project with
// production dependencies only, by npm
// running on the Node under test, and run through its bin on that Node (the launcher then loads
// dist/, not the TypeScript sources): the Node 24 of this checkout and Node 22.19.0, the oldest
// release the launcher accepts (fetched from the npm registry). dist/ is an esbuild bundle
// (scripts/build.js): the tests below also run what it loads only on demand (the OTLP exporter and
// CEL library entries, and @opentelemetry/configuration from the installed node_modules), which a
// bundle can break without the default `run` noticing.
const example = join(repoRoot, 'examples', 'backup');
const config = join(example, 'config.yaml');
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const OLDEST_NODE_22 = '22.19.0';
// The launcher's rule (plain JavaScript, shipped in bin/).
const { SUPPORTED_NODE_RANGE, isSupportedNode } = (await import(
  pathToFileURL(join(repoRoot, 'bin', 'supported-node.js')).href
)) as { SUPPORTED_NODE_RANGE: string; isSupportedNode: (version: string) => boolean };
const runtimes: { label: string; resolve: () => Promise<NodeRuntime> }[] = [
  { label: "this checkout's Node 24", resolve: () => Promise.resolve(checkoutNode()) },
  {
    label: `Node ${OLDEST_NODE_22}, the oldest 22 supported`,
    resolve: () => registryNode(OLDEST_NODE_22, `Node ${OLDEST_NODE_22}`),
  },
];

/** The revision scripts/build.js gives a build of this checkout. */
function checkoutRevision(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  return (
    git('rev-parse', '--short=12', 'HEAD') +
    (git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : '')
  );
}

// The system's Node (outside node_modules), as a user's shell would find it.
const systemNode = process.env.PATH?.split(delimiter)
  .filter((dir) => dir !== '' && !dir.includes('node_modules'))
  .map((dir) => join(dir, 'node'))
  .find((file) => existsSync(file));
const systemVersion = systemNode
  ? execFileSync(systemNode, ['--version'], { encoding: 'utf8' }).trim()
  : undefined;

describe('npm package', () => {
  let work: string;
  let tarball: string;
  let packed: { files: { path: string }[]; size: number; filename: string };
  let checkoutManifest: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'crd-metrics-bridge-package-'));
    checkoutManifest = readFileSync(join(repoRoot, 'package.json'), 'utf8');
    // `npm pack` in a copy of the checkout: prepack rewrites package.json while it packs, and other
    // tests (the image builds) read the checkout's at the same time. node_modules is linked, and
    // the revision is the checkout's (the copy has no .git).
    const checkout = join(work, 'checkout');
    mkdirSync(checkout);
    for (const entry of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'README.md',
      'LICENSE',
      'bin',
      'docs',
      'rules',
      'scripts',
      'src',
    ])
      cpSync(join(repoRoot, entry), join(checkout, entry), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules'), join(checkout, 'node_modules'));
    const pack = await runCommand('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: checkout,
      env: { ...process.env, CRD_METRICS_BRIDGE_REVISION: checkoutRevision() },
    });
    assert.equal(pack.code, 0, pack.stderr);
    // postpack put the copy's manifest back as it was.
    assert.equal(readFileSync(join(checkout, 'package.json'), 'utf8'), checkoutManifest);
    assert.ok(!existsSync(join(checkout, 'build', 'package.json.checkout')));
    packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;
    tarball = join(work, packed.filename);
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
      'bin/supported-node.js',
      'dist/main.js',
      'dist/createOtlpExporter.js',
      'dist/bufbuild-cel.js',
      'dist/bufbuild-cel-ext.js',
      'dist/bcryptWorker.js',
      'rules/health/generic.yaml',
    ];
    for (const p of shipped) assert.ok(paths.includes(p), `${p} in the tarball`);
    assert.ok(paths.includes('dist/build-info.json'), 'build info with the git revision');
    const outside = paths.filter(
      (p) => !/^(dist|bin|docs|rules)\/|^(package\.json|README\.md|LICENSE)$/.test(p),
    );
    assert.deepEqual(outside, []);
    assert.ok(!paths.some((p) => p.endsWith('.ts')), 'no TypeScript in the tarball');
    assert.ok(!paths.some((p) => p.endsWith('.map')), 'no source maps in the tarball');
  });

  it("ships a manifest without the checkout's scripts and dev dependencies, with the launcher's engines", () => {
    const shipped = JSON.parse(
      execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
    ) as Record<string, unknown>;
    for (const key of ['scripts', 'devDependencies', 'allowScripts'])
      assert.equal(shipped[key], undefined, `${key} in the published package.json`);
    assert.deepEqual(shipped['engines'], { node: SUPPORTED_NODE_RANGE });
    assert.deepEqual(shipped['bin'], { 'crd-metrics-bridge': 'bin/crd-metrics-bridge.js' });
    assert.deepEqual(Object.keys(shipped['dependencies'] as object).sort(), [
      '@kubernetes/client-node',
      '@opentelemetry/configuration',
    ]);
    // The engines range says what the launcher's rule says, at its edges.
    for (const [version, supported] of [
      ['v20.20.0', false],
      ['v22.18.9', false],
      ['v22.19.0', true],
      ['v23.11.0', false],
      ['v24.0.0', true],
      ['v26.1.0', true],
    ] as const)
      assert.equal(isSupportedNode(version), supported, version);
  });

  it('npm ci in a checkout prints no EBADENGINE for the project itself, on the system Node', async () => {
    // The checkout's manifest has no engines (npm ci installs Node 24 itself). A dry run of the
    // system's npm on the system's Node reads the same manifest and lock and runs the same checks.
    const node = systemNode ?? process.execPath;
    const dryRun = async (manifest: string) => {
      const dir = mkdtempSync(join(work, 'checkout-'));
      writeFileSync(join(dir, 'package.json'), manifest);
      writeFileSync(join(dir, 'package-lock.json'), readFileSync(join(repoRoot, 'package-lock.json')));
      const r = await runCommand(
        node,
        [npmCli(), 'ci', '--dry-run', '--ignore-scripts', '--prefer-offline'],
        {
          cwd: dir,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      return r.stderr;
    };
    const ours = /EBADENGINE[^\n]*package: 'crd-metrics-bridge@/;
    assert.doesNotMatch(await dryRun(checkoutManifest), ours);
    // What it printed with the engines field the checkout used to have.
    if (systemVersion !== undefined && !isSupportedNode(systemVersion)) {
      const withEngines = JSON.stringify({
        ...JSON.parse(checkoutManifest),
        engines: { node: SUPPORTED_NODE_RANGE },
      });
      assert.match(await dryRun(withEngines), ours);
    }
  });

  for (const { label, resolve } of runtimes) {
    describe(`installed and run on ${label}`, () => {
      let runtime: NodeRuntime;
      let bin: string;
      let env: NodeJS.ProcessEnv;
      let installLog: string;

      before(async () => {
        runtime = await resolve();
        const project = mkdtempSync(join(work, 'project-'));
        writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
        // npm itself runs on the Node under test, so its engine checks judge that Node.
        const path = [runtime.binDir, process.env.PATH].join(delimiter);
        const install = await runCommand(
          join(runtime.binDir, 'node'),
          [npmCli(), 'install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball],
          { cwd: project, env: { ...process.env, PATH: path }, timeoutMs: 300_000 },
        );
        assert.equal(install.code, 0, install.stderr);
        installLog = install.stderr;
        bin = join(project, 'node_modules', '.bin', 'crd-metrics-bridge');
        // The bin's `#!/usr/bin/env node` must find the Node under test: its directory comes first.
        env = { PATH: path, HOME: work, OTEL_METRICS_EXPORTER: 'prometheus' };
      });

      it('installs without engine warnings, with production dependencies only', () => {
        assert.doesNotMatch(installLog, /EBADENGINE/, installLog);
        const installed = join(bin, '..', '..');
        assert.ok(!existsSync(join(installed, 'typescript')), 'no dev dependencies installed');
        // What dist/ bundles is not installed again; the two packages it loads at run time are.
        assert.ok(!existsSync(join(installed, 'commander')), 'bundled dependencies not installed');
        assert.ok(
          existsSync(join(installed, '@kubernetes', 'client-node')),
          'production dependencies installed',
        );
        assert.ok(
          existsSync(join(installed, '@opentelemetry', 'configuration')),
          'production dependencies installed',
        );
      });

      it('ships the health rules where the installed code looks for them', () => {
        // The code is bundled into dist/ (a flat directory): the loader walks up from there to the
        // package root and reads rules/health/. Every shipped file must compile there.
        const installedPackage = join(bin, '..', '..', 'crd-metrics-bridge');
        const root = packageRoot(join(installedPackage, 'dist', 'main.js'));
        assert.equal(root, installedPackage);
        const docs = readRuleDocuments(join(root, 'rules', 'health'));
        assert.deepEqual(
          docs.map((d) => basename(d.file)),
          readRuleDocuments(join(repoRoot, 'rules', 'health')).map((d) => basename(d.file)),
          'every rule file of the checkout is shipped',
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
            `^crd-metrics-bridge ${packageJson.version.replaceAll('.', '\\.')} \\(revision [0-9a-f]{12}(-dirty)?, node v${runtime.version.replaceAll('.', '\\.')},`,
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

      it('checks and renders a health config: each object gets its state from the shipped rules', async () => {
        const fixtures = join(repoRoot, 'test', 'fixtures', 'render', 'health');
        const healthConfig = join(fixtures, 'config.yaml');
        const objects = join(fixtures, 'objects.yaml');
        const checked = await runCommand(bin, ['check', '--config', healthConfig], { env });
        assert.equal(checked.code, 0, checked.stderr);
        assert.match(checked.stdout, /cert-manager\.io\/v1 Certificate: kube_customresource_health, /);
        const r = await runCommand(bin, ['render', '--config', healthConfig, objects], { env });
        assert.equal(r.code, 0, r.stderr);
        const states = (text: string) => samples(text, 'kube_customresource_health{');
        const installed = states(r.stdout);
        // cert-manager's own rule (rules/health/cert-manager.yaml) calls an expired certificate
        // degraded, and the generic rules a Foo with spec.suspend suspended.
        const at1 = installed.filter((l) => l.endsWith(' 1'));
        assert.ok(
          at1.includes(
            'kube_customresource_health{customresource_group="cert-manager.io",customresource_kind="Certificate",customresource_version="v1",name="expired",namespace="ns1",state="degraded"} 1',
          ),
          at1.join('\n'),
        );
        assert.ok(
          at1.some((l) => l.includes('name="paused"') && l.includes('state="suspended"')),
          at1.join('\n'),
        );
        const fromSources = await runCli(['render', '--config', healthConfig, objects]);
        assert.deepEqual(installed, states(fromSources.stdout));
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
            `^crd_metrics_bridge_build_info\\{version="${packageJson.version.replaceAll('.', '\\.')}",revision="[0-9a-f]{12}(-dirty)?",nodejs_version="v${runtime.version.replaceAll('.', '\\.')}"\\} 1$`,
            'm',
          ),
          served.telemetry,
        );
        assert.equal(served.exit, 'exited with code 0', served.log);
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
    });
  }

  // The README's way to run it where the system Node is older than the launcher accepts: npx
  // fetches Node 24 from the npm registry for the run. Here with the checkout's Node 24 release (in
  // npm's cache) and the tarball instead of the registry's package.
  it(
    `runs with the README's npx command where the system Node (${systemVersion ?? 'none'}) is too old`,
    {
      skip:
        systemVersion !== undefined && !isSupportedNode(systemVersion)
          ? false
          : 'no system Node older than the supported ones',
    },
    async () => {
      const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
      const line = /^npx (--yes -p node@24 -p crd-metrics-bridge@\S+ -- crd-metrics-bridge) --help/m.exec(
        readme,
      );
      assert.ok(
        line,
        'the README shows `npx --yes -p node@24 -p crd-metrics-bridge@VERSION -- crd-metrics-bridge`',
      );
      const args = line[1]!
        .split(' ')
        .map((arg) =>
          arg === 'node@24'
            ? `node@${process.versions.node}`
            : arg.startsWith('crd-metrics-bridge@')
              ? tarball
              : arg,
        );
      const systemPath = process.env
        .PATH!.split(delimiter)
        .filter((dir) => !dir.includes('node_modules'))
        .join(delimiter);
      const project = mkdtempSync(join(work, 'npx-'));
      mkdirSync(join(project, 'cache'));
      const r = await runCommand('npx', ['--prefer-offline', ...args, '--version'], {
        cwd: project,
        env: { ...process.env, PATH: systemPath, npm_config_update_notifier: 'false' },
        timeoutMs: 300_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`node v${process.versions.node.replaceAll('.', '\\.')},`));
    },
  );
});
