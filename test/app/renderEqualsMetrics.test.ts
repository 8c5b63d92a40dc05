// `render` reads objects through the same files source, ingest path and cache as `run`, so its
// output is what /metrics serves for the same files, by construction. Duplicate objects are where
// the two used to differ (render keyed objects by position, the files source by identity).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Bridge } from '../../src/app/Bridge.ts';
import { repoRoot } from '../harness/binaries.ts';
import { runCli } from '../support/runCli.ts';

const backup = (name: string, size: number, namespace = 'default') => `apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: ${name}, namespace: ${namespace} }
spec: { target: s3://bucket }
status: { phase: Completed, sizeBytes: ${size} }
`;

async function metricsOf(config: string, dir: string): Promise<string> {
  const bridge = await Bridge.create({
    config,
    source: `files:${dir}`,
    logger: pino({ level: 'silent' }),
    listenAddress: '127.0.0.1:0',
    telemetryListenAddress: '',
    watchConfigFile: false,
  });
  try {
    const { main } = await bridge.listen();
    await bridge.start();
    const response = await fetch(`http://${main}/metrics`);
    assert.equal(response.status, 200);
    return await response.text();
  } finally {
    await bridge.stop();
  }
}

describe('render equals /metrics', () => {
  it('for duplicate objects in one file and across files, and objects matching nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'render-eq-'));
    try {
      // The same Backup three times in one file (the last copy wins), a second file with another
      // copy of it and a new one, and an object no resource matches.
      writeFileSync(
        join(dir, 'a.yaml'),
        [backup('one', 1), backup('one', 2), backup('two', 5), backup('one', 3)].join('---\n'),
      );
      writeFileSync(join(dir, 'b.yaml'), [backup('one', 7, 'other'), backup('three', 9)].join('---\n'));
      writeFileSync(join(dir, 'c.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n');
      const config = join(repoRoot, 'examples/backup/config.yaml');
      const rendered = await runCli(['render', '--config', config, dir]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const served = await metricsOf(config, dir);
      assert.equal(rendered.stdout, served);
      const sizes = rendered.stdout.split('\n').filter((l) => l.startsWith('backup_size_bytes{'));
      assert.deepEqual(sizes, [
        'backup_size_bytes{namespace="default",name="one",target="s3://bucket"} 3',
        'backup_size_bytes{namespace="default",name="two",target="s3://bucket"} 5',
        'backup_size_bytes{namespace="other",name="one",target="s3://bucket"} 7',
        'backup_size_bytes{namespace="default",name="three",target="s3://bucket"} 9',
      ]);
      assert.match(rendered.stderr, /skipped 1 object matching no configured resource: v1 ConfigMap \(1\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
