import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli } from '../support/runCli.ts';

describe('command line', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['check', 'render', 'rbac', 'run']) assert.match(r.stdout, new RegExp(`\\n  ${c} `));
  });

  it('every command has --help with its options', async () => {
    const expectations: Record<string, RegExp[]> = {
      check: [/--config <file>/],
      render: [/--format <format>/, /choices: "text",\s+"openmetrics"/, /--limits\.object-series <n>/],
      rbac: [/--name <name>/],
      run: [
        /--web\.listen-address <address>/,
        /--telemetry\.listen-address/,
        /--web\.max-requests <n>/,
        /--source <source>/,
        /--limits\.family-series <n>/,
        /--log\.format <format>/,
        /OTEL_METRICS_EXPORTER/,
      ],
    };
    for (const [command, patterns] of Object.entries(expectations)) {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0, command);
      for (const p of patterns) assert.match(r.stdout, p, `${command} --help`);
    }
  });

  it('rejects usage errors (unknown command or option, missing option, bad choice) with exit 2 and a message', async () => {
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const missing = await runCli(['check']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '-c, --config <file>' not specified/);
    const badFormat = await runCli(['render', '--format', 'xml', '--config', 'x.yaml', 'y']);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /argument 'xml' is invalid/);
    const unknownOption = await runCli(['check', '--config', 'x.yaml', '--bogus']);
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option '--bogus'/);
    const badLogFormat = await runCli(['run', '--config', 'x.yaml', '--log.format', 'xml']);
    assert.equal(badLogFormat.code, 2);
    // Served nowhere, it only printed a broken URL ("http://127.0.0.1:8080metrics").
    const relativePath = await runCli(['run', '--config', 'x.yaml', '--web.telemetry-path', 'metrics']);
    assert.equal(relativePath.code, 2);
    assert.match(
      relativePath.stderr,
      /--web.telemetry-path <path>' argument 'metrics' is invalid\. expected a path starting with \//,
    );
    const nothing = await runCli([]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /Usage: crd-metrics-bridge/);
  });

  it('a config path that is missing or a directory: one line saying so, exit 1', async () => {
    const missing = await runCli(['check', '--config', 'no/such/config.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: no\/such\/config\.yaml:1:1: file not found$/m);
    const directory = await runCli(['check', '--config', 'examples']);
    assert.equal(directory.code, 1);
    assert.match(directory.stderr, /^error: examples:1:1: is a directory; --config takes a file$/m);
  });

  it('exits 1, not 2, for invalid input: a bad config or a bad --source value', async () => {
    const bad = await runCli(['check', '--config', 'test/fixtures/config-errors/invalid-path.yaml']);
    assert.equal(bad.code, 1);
    const source = await runCli(['run', '--config', 'examples/backup/config.yaml', '--source', 'ftp:x']);
    assert.equal(source.code, 1);
    assert.match(source.stderr, /^error: invalid --source "ftp:x"/m);
  });

  it('wraps every help text for an 80-column terminal', async () => {
    for (const command of [[], ['check'], ['render'], ['rbac'], ['run'], ['version']]) {
      const r = await runCli([...command, '--help']);
      assert.equal(r.code, 0);
      const long = r.stdout.split('\n').filter((l) => l.length > 80);
      assert.deepEqual(long, [], `${command.join(' ') || 'root'} --help`);
    }
  });

  it('--version, -v and version print version, git revision and Node version', async () => {
    for (const argv of [['--version'], ['-v'], ['version']]) {
      const r = await runCli(argv);
      assert.equal(r.code, 0, argv[0]);
      assert.match(
        r.stdout,
        /^crd-metrics-bridge \d+\.\d+\.\d+\S* \(revision (\w+|unknown)(-dirty)?, node v24\./,
      );
    }
  });

  it('render - reads objects from standard input', async () => {
    const objects = readFileSync('examples/backup/backup.yaml', 'utf8');
    const fromStdin = await runCli(['render', '--config', 'examples/backup/config.yaml', '-'], objects);
    const fromFile = await runCli([
      'render',
      '--config',
      'examples/backup/config.yaml',
      'examples/backup/backup.yaml',
    ]);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.match(fromStdin.stdout, /^backup_status\{/m);
    assert.equal(fromStdin.stdout, fromFile.stdout);
    const broken = await runCli(['render', '--config', 'examples/backup/config.yaml', '-'], 'a: [\n');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^error: <stdin>: invalid YAML at line 2/m);
  });

  it('a bad config makes `run` exit 1 before binding any port, naming file and line', async () => {
    const r = await runCli([
      'run',
      '--config',
      'test/fixtures/config-errors/invalid-path.yaml',
      '--source',
      'files:examples/backup',
      '--web.listen-address',
      '127.0.0.1:1',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid-path\.yaml:9:21: .*invalid list lookup: \[Ready\]/);
  });
});
