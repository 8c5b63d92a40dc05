import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
        /OTEL_METRICS_EXPORTER/,
      ],
    };
    for (const [command, patterns] of Object.entries(expectations)) {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0, command);
      for (const p of patterns) assert.match(r.stdout, p, `${command} --help`);
    }
  });

  it('rejects unknown commands and missing options with exit 1 and a message', async () => {
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const missing = await runCli(['check']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /required option '-c, --config <file>' not specified/);
    const badFormat = await runCli(['render', '--format', 'xml', '--config', 'x.yaml', 'y']);
    assert.equal(badFormat.code, 1);
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
