// The CLI as users run it (bin/crd-metrics-bridge.js, a child process) writing into a pipe whose
// reader is slow: the pipe fills (64 KiB on Linux), Node queues the rest, and the launcher must
// not exit before it is written. Also a reader that goes away early (`| head`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../harness/binaries.ts';

const OBJECTS = 5000;
const dir = mkdtempSync(path.join(tmpdir(), 'pipe-output-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const objects = path.join(dir, 'backups.json');
writeFileSync(
  objects,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: Array.from({ length: OBJECTS }, (_, i) => ({
      apiVersion: 'backup.example.com/v1',
      kind: 'Backup',
      metadata: { name: `b-${i}`, namespace: 'default' },
      spec: { target: `s3://bucket/${i}` },
      status: {
        phase: 'Completed',
        sizeBytes: i,
        startTime: '2026-02-09T10:00:00Z',
        endTime: '2026-02-09T10:05:00Z',
      },
    })),
  }),
);

function render(): ReturnType<typeof spawn> {
  return spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin/crd-metrics-bridge.js'),
      'render',
      '--config',
      'examples/backup/config.yaml',
      objects,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe('CLI output into a pipe', () => {
  it('render writes all of its output to a slow reader before it exits', async () => {
    const child = render();
    // 'close': the process has exited and its stdio streams have ended.
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Read nothing until the child has written (and queued) its output and reached its exit.
    child.stdout!.pause();
    await delay(3000);
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout!.resume();
    assert.equal(await closed, 0, stderr);
    const stdout = Buffer.concat(chunks).toString();
    const lines = stdout.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    // Three gauges with HELP and TYPE each, every object has all three series.
    assert.equal(lines.filter((l) => !l.startsWith('#')).length, 3 * OBJECTS);
    assert.equal(
      lines.at(-1),
      `backup_duration_seconds{namespace="default",name="b-${OBJECTS - 1}",target="s3://bucket/${OBJECTS - 1}"} 300`,
    );
  });

  it('a reader that goes away early ends it without a stack trace', async () => {
    const child = render();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Like `| head -c 100`: take the first chunk, then close the pipe.
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    child.stdout!.destroy();
    const code = await exited;
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.ok(code === 0 || code === null, `exit code ${code}: ${stderr}`);
  });
});
