import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { runCli } from '../support/runCli.ts';
import { runCommand, serveAndScrape } from '../support/installedBridge.ts';

// The package as users get it: `npm pack` (which runs `prepare`, i.e. the build), installed from the
// tarball into an empty project with production dependencies only, run through its bin on the
// Node 24 in this repo's node_modules (the launcher then loads dist/, not the TypeScript sources).
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
    for (const p of ['package.json', 'LICENSE', 'README.md', 'bin/crd-metrics-bridge.js', 'dist/cli/main.js'])
      assert.ok(paths.includes(p), `${p} in the tarball`);
    assert.ok(paths.includes('dist/build-info.json'), 'build info with the git revision');
    const outside = paths.filter((p) => !/^(dist|bin|docs)\/|^(package\.json|README\.md|LICENSE)$/.test(p));
    assert.deepEqual(outside, []);
    assert.ok(!paths.some((p) => p.endsWith('.ts')), 'no TypeScript in the tarball');
    const installed = join(work, 'project', 'node_modules');
    assert.ok(!existsSync(join(installed, 'typescript')), 'no dev dependencies installed');
    assert.ok(existsSync(join(installed, 'commander')), 'production dependencies installed');
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
    assert.equal(served.exit, 'exited with code 0', served.log);
  });
});
