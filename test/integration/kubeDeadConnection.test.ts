import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../harness/binaries.ts';

/**
 * A watch whose API server vanishes without a word (no FIN, no RST: a node gone, a NAT entry
 * dropped) must fail within about a minute, not wait for the five-minute idle timeout: TCP
 * keepalive on the client's connections. The probe runs in a private network namespace, where it
 * may drop every loopback packet with iptables without touching the machine's network.
 */
describe('a silently dropped API server connection', () => {
  it('fails the watch within 60 s (TCP keepalive)', { timeout: 180_000 }, (t) => {
    const probe = [
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      path.join(repoRoot, 'test', 'support', 'deadConnectionProbe.ts'),
      '75000',
    ];
    const support = spawnSync(
      'unshare',
      ['--net', '--map-root-user', '--', 'sh', '-c', 'ip link set lo up && iptables -L INPUT -n'],
      {
        encoding: 'utf8',
      },
    );
    if (support.status !== 0) {
      t.skip(
        `no private network namespace with iptables here: ${support.stderr.trim().split('\n')[0] ?? ''}`,
      );
      return;
    }
    const result = spawnSync('unshare', ['--net', '--map-root-user', '--', ...probe], {
      encoding: 'utf8',
      timeout: 170_000,
    });
    assert.equal(result.status, 0, result.stderr);
    const outcome = JSON.parse(result.stdout) as { failedAfterMs: number | null; error?: string };
    t.diagnostic(`failed ${outcome.failedAfterMs} ms after the drop: ${outcome.error}`);
    assert.notEqual(outcome.failedAfterMs, null, 'still waiting 75 s after the peer vanished');
    assert.ok(outcome.failedAfterMs! <= 60_000, `took ${outcome.failedAfterMs} ms`);
    // The socket times out (ETIMEDOUT); the response being read reports it as cut (ECONNRESET).
    assert.ok(['ETIMEDOUT', 'ECONNRESET'].includes(outcome.error ?? ''), outcome.error);
  });
});
