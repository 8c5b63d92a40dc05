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

  it('rejects usage errors with exit 2: one line with a did-you-mean, one hint line, no help', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^error: unknown command 'frobnicate'\nrun 'crd-metrics-bridge --help' for usage\n$/],
      [['chek'], /^error: unknown command 'chek' \(did you mean check\?\)\n/],
      [
        ['check'],
        /^error: required option '-c, --config <file>' not specified\nrun 'crd-metrics-bridge check --help' for usage\n$/,
      ],
      [['check', '--config', 'x.yaml', '--bogus'], /^error: unknown option '--bogus'\n/],
      [
        ['render', '--confg=x.yaml', 'y'],
        /^error: unknown option '--confg' \(did you mean --config\?\)\nrun 'crd-metrics-bridge render --help' for usage\n$/,
      ],
      [['render', '--config', 'x.yaml'], /^error: missing required argument 'paths'\n/],
      [['run', '--config', 'x.yaml', '--web.listen-addres=:1'], /\(did you mean --web\.listen-address\?\)/],
      // Not "did you mean --v?" (klog's verbosity flag, one edit from any two-letter typo).
      [['run', '--config', 'x.yaml', '--x'], /^error: unknown option '--x'\nrun /],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.ok(r.stderr.split('\n').length <= 3, `at most two lines: ${r.stderr}`);
    }
    const nothing = await runCli([]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /Usage: crd-metrics-bridge/);
  });

  it('an unknown option is reported before a missing --config', async () => {
    for (const command of ['check', 'render', 'rbac', 'run']) {
      const r = await runCli([command, '--confg', 'x.yaml', 'y']);
      assert.equal(r.code, 2, command);
      assert.match(r.stderr, /^error: unknown option '--confg' \(did you mean --config\?\)\n/, command);
    }
  });

  it('a bad flag value is invalid input: exit 1, one line naming the flag, one hint', async () => {
    const cases: [string[], RegExp][] = [
      [['render', '--format', 'xml', '--config', 'x.yaml', 'y'], /argument 'xml' is invalid/],
      [
        ['run', '--config', 'x.yaml', '--log.format', 'xml'],
        /'--log\.format <format>' argument 'xml' is invalid/,
      ],
      // Served nowhere, it only printed a broken URL ("http://127.0.0.1:8080metrics").
      [
        ['run', '--config', 'x.yaml', '--web.telemetry-path', 'metrics'],
        /--web.telemetry-path <path>' argument 'metrics' is invalid\. expected a path starting with \//,
      ],
      [['run', '--config', 'x.yaml', '--web.max-requests', '-1'], /--web\.max-requests <n>' argument '-1'/],
      [['run', '--config', 'x.yaml', '--web.write-timeout', '5 minutes'], /expected a duration/],
      [['render', '--limits.object-series=x', '--config', 'x.yaml', 'y'], /expected a non-negative integer/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.equal(r.code, 1, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.match(r.stderr, /\nrun 'crd-metrics-bridge \w+ --help' for usage\n$/);
      assert.equal(r.stderr.split('\n').length, 3, r.stderr);
    }
  });

  it('a config path that is missing or a directory: one line saying so, exit 1', async () => {
    const missing = await runCli(['check', '--config', 'no/such/config.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: no\/such\/config\.yaml:1:1: file not found$/m);
    const directory = await runCli(['check', '--config', 'examples']);
    assert.equal(directory.code, 1);
    assert.match(directory.stderr, /^error: examples:1:1: is a directory; --config takes a file$/m);
  });

  it('exits 1, not 2, for invalid input found when the command runs: a bad config or --source value', async () => {
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
