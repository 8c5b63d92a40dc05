// The README's commands and config example, run from the checkout as a reader would.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { runCli } from '../support/runCli.ts';
import { spawnCli } from '../support/spawnCli.ts';
import { until } from '../support/until.ts';

const README = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** The body of the first fenced block of `language` after `heading`. */
function block(heading: string, language: string): string {
  const section = README.indexOf(`\n${heading}\n`);
  assert.ok(section >= 0, heading);
  const start = README.indexOf('```' + language + '\n', section);
  const end = README.indexOf('\n```', start + 1);
  return README.slice(start + language.length + 4, end);
}

/** `npx crd-metrics-bridge a  b c` → ['a', 'b', 'c']. */
function commands(): string[][] {
  return block('## Commands', 'sh')
    .split('\n')
    .filter((l) => l.startsWith('npx crd-metrics-bridge'))
    .map((l) => l.split(/\s+/).slice(2));
}

describe('README', () => {
  it('every command of "Commands" works in a checkout', async () => {
    const all = commands();
    assert.ok(all.length >= 5, 'the block was found');
    for (const argv of all.filter((a) => a[0] !== 'run')) {
      const r = await runCli(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '', argv.join(' '));
      assert.ok(r.stdout.length > 0, argv.join(' '));
    }
    const run = all.find((a) => a[0] === 'run');
    assert.ok(run);
    const cli = spawnCli([...run, '--web.listen-address=127.0.0.1:0', '--telemetry.listen-address=']);
    try {
      const line = await until('the startup line', () =>
        Promise.resolve(cli.stdout().includes('\n') ? cli.stdout() : undefined),
      );
      assert.match(
        line,
        /^crd-metrics-bridge is serving 1 object: open http:\/\/127\.0\.0\.1:\d+\/metrics\n$/,
      );
    } finally {
      assert.equal((await cli.signal('SIGTERM')).code, 0, cli.stderr());
    }
  });

  it('the config example of "Configuration reference" renders the shipped certificates without an error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-readme-'));
    try {
      const config = path.join(dir, 'config.yaml');
      writeFileSync(config, block('## Configuration reference', 'yaml'));
      const r = await runCli(['render', '--config', config, 'examples/cert-manager/certificates.yaml']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'no object errors, no warnings');
      for (const family of ['expiration_timestamp_seconds', 'ready_status', 'validity_seconds'])
        assert.match(r.stdout, new RegExp(`^certmanager_certificate_${family}\\{`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
