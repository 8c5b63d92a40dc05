// A flood of wrong passwords against the real bridge process with basic auth: the pending bound
// answers the excess with 429 at once, probes and scrapers keep being served. Latencies here
// only have to stay far below what the flood caused when bcrypt ran on the event loop (seconds
// to tens of seconds); docs/benchmarks.md has the measured figures.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { repoRoot } from '../harness/binaries.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';

const CONFIG = path.join(repoRoot, 'examples/backup/config.yaml');
const OBJECTS = path.join(repoRoot, 'examples/backup');

interface Timed {
  readonly status: number;
  readonly ms: number;
}

/** One GET on its own connection, from `localAddress` (the flood comes from another address). */
function get(url: string, authorization?: string, localAddress?: string): Promise<Timed> {
  const began = performance.now();
  return new Promise((resolve) => {
    const req = request(
      url,
      { agent: false, localAddress, headers: authorization ? { authorization } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - began }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - began }));
    req.end();
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Runs `send` every `everyMs` for `forMs`; resolves with every result once all have answered. */
async function every<T>(everyMs: number, forMs: number, send: () => Promise<T>): Promise<T[]> {
  const pending: Promise<T>[] = [];
  const end = Date.now() + forMs;
  while (Date.now() < end) {
    pending.push(send());
    await delay(everyMs);
  }
  return Promise.all(pending);
}

describe('basic auth under a flood of wrong passwords (real bridge process)', () => {
  let dir: string;
  let bridge: BridgeHandle;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-auth-flood-'));
    // Cost 12: each wrong password is about half a second of CPU in bcryptjs.
    writeFileSync(
      path.join(dir, 'web.yml'),
      [
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync('s3cret', 12)}`,
        `  grafana: ${bcrypt.hashSync('gr4fana', 12)}`,
        '',
      ].join('\n'),
    );
    bridge = await startBridge({
      config: CONFIG,
      source: `files:${OBJECTS}`,
      extraArgs: [`--web.config.file=${path.join(dir, 'web.yml')}`, '--log.level=info'],
    });
  });

  after(async () => {
    await bridge?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('30 wrong passwords/s: excess 429 at once; probes, scrapers and a first login keep being served', async () => {
    const metrics = `${bridge.url}/metrics`;
    assert.equal((await get(metrics, basic('prometheus', 's3cret'))).status, 200);
    const [flood, probes, scrapes, firstLogin] = await Promise.all([
      every(33, 5_000, () =>
        get(metrics, basic('prometheus', randomBytes(9).toString('base64')), '127.0.0.2'),
      ),
      every(200, 5_000, () => get(`${bridge.url}/healthz`)),
      every(500, 5_000, () => get(metrics, basic('prometheus', 's3cret'))),
      // A scraper whose password has not been checked yet, from another address than the flood.
      delay(1_500).then(() => get(metrics, basic('grafana', 'gr4fana'))),
    ]);
    const count = (status: number) => flood.filter((r) => r.status === status).length;
    const slowestProbe = Math.max(...probes.map((r) => r.ms));
    const slowestScrape = Math.max(...scrapes.map((r) => r.ms));
    const summary = `flood: ${flood.length} requests, ${count(401)} 401, ${count(429)} 429; slowest /healthz ${slowestProbe.toFixed(0)} ms, slowest scrape ${slowestScrape.toFixed(0)} ms, first login ${firstLogin.status} in ${firstLogin.ms.toFixed(0)} ms`;
    console.log(summary);
    assert.equal(count(401) + count(429), flood.length, summary);
    assert.ok(count(429) > 0, summary);
    const slowest429 = Math.max(...flood.filter((r) => r.status === 429).map((r) => r.ms));
    assert.ok(slowest429 < 2_000, `a refused check waits for nothing: ${summary}`);
    for (const r of probes) assert.equal(r.status, 200, summary);
    for (const r of scrapes) assert.equal(r.status, 200, summary);
    assert.equal(firstLogin.status, 200, summary);
    // Generous: the point is seconds to tens of seconds before (bcrypt on the event loop).
    assert.ok(slowestProbe < 2_000, summary);
    assert.ok(slowestScrape < 2_000, summary);
  });
});
