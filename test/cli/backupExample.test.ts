import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../support/runCli.ts';

// The three lines the seed article ("Testing the Metrics") says a user should see.
const SEED_LINES = [
  'backup_status{namespace="default",name="test-backup",target="s3://my-bucket"} 1',
  'backup_size_bytes{namespace="default",name="test-backup",target="s3://my-bucket"} 1048576',
  'backup_duration_seconds{namespace="default",name="test-backup",target="s3://my-bucket"} 300',
];

describe('examples/backup reproduces the seed article', () => {
  it('renders exactly the three series of the article and nothing else', async () => {
    const result = await runCli([
      'render',
      '--config',
      'examples/backup/config.yaml',
      'examples/backup/backup.yaml',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const samples = result.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(samples, SEED_LINES);
    const comments = result.stdout.split('\n').filter((l) => l.startsWith('#'));
    assert.deepEqual(comments, [
      '# HELP backup_status Status of backup (1=success, 0=failure)',
      '# TYPE backup_status gauge',
      '# HELP backup_size_bytes Size of backup in bytes',
      '# TYPE backup_size_bytes gauge',
      '# HELP backup_duration_seconds Duration of backup operation',
      '# TYPE backup_duration_seconds gauge',
    ]);
  });

  it('gives status 0 and no duration for a backup that is still running', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'backup-'));
    const file = path.join(dir, 'running.yaml');
    await writeFile(
      file,
      'apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: b2, namespace: ns}\nspec: {target: t}\nstatus: {phase: Running, startTime: "2026-02-09T10:00:00Z"}\n',
    );
    const result = await runCli(['render', '--config', 'examples/backup/config.yaml', file]);
    assert.equal(result.code, 0, result.stderr);
    const samples = result.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(samples, ['backup_status{namespace="ns",name="b2",target="t"} 0']);
    assert.match(result.stderr, /backup_size_bytes \(nil-value\): 1 time/);
  });
});
