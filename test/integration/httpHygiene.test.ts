// HTTP hygiene of the real bridge process: pipelined requests, silent and slow-header
// connections, and timeouts beyond Node's timer range.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupObject, PATH_CONFIG } from '../../bench/engineBench.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { runCli } from '../support/runCli.ts';

/** Enough objects that a scrape (about 15 MB) cannot sit in the socket buffers of a client that never reads. */
const OBJECTS = 50_000;

/** A scrape on its own connection that reads the whole body. */
function scrape(url: string): Promise<{ status: number; bytes: number; complete: boolean }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, bytes, complete: false }));
    });
    req.on('error', () => resolve({ status: 0, bytes: 0, complete: false }));
    req.end();
  });
}

function open(address: string): Promise<Socket> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('HTTP hygiene (real bridge process)', () => {
  let work: string;
  let bridge: BridgeHandle;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-hygiene-'));
    const objects = path.join(work, 'objects');
    mkdirSync(objects);
    writeFileSync(path.join(work, 'config.yaml'), PATH_CONFIG);
    const items = Array.from({ length: OBJECTS }, (_, i) => backupObject(i));
    writeFileSync(
      path.join(objects, 'objects.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    );
    bridge = await startBridge({
      config: path.join(work, 'config.yaml'),
      source: `files:${objects}`,
      extraArgs: ['--web.max-requests=2', '--web.write-timeout=30s', '--log.level=info'],
    });
  });

  after(async () => {
    await bridge?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ten pipelined scrapes on a connection that is never read hold one slot: other scrapes are served', async () => {
    const one = await scrape(`${bridge.url}/metrics`);
    assert.equal(one.status, 200);
    const stuck = await open(bridge.address);
    stuck.pause(); // never read: the first response fills the socket buffers and waits
    stuck.write('GET /metrics HTTP/1.1\r\nHost: bridge\r\n\r\n'.repeat(10));
    await delay(2_000);
    // With every pipelined request dispatched at once, the stuck connection held both slots until
    // the write timeout (30 s here) and these got 503.
    for (let i = 0; i < 3; i++) {
      const other = await scrape(`${bridge.url}/metrics`);
      assert.equal(other.status, 200, `scrape ${i} while a connection pipelines`);
      assert.equal(other.bytes, one.bytes);
    }
    stuck.destroy();
  });

  it('closes silent and slow-header connections within seconds', { timeout: 20_000 }, async () => {
    const began = Date.now();
    const silent = await open(bridge.address);
    const slow = await open(bridge.address);
    slow.write('GET /metrics HTTP/1.1\r\nHost: bridge\r\n'); // the headers never end
    const closed = (socket: Socket) =>
      new Promise<number>((resolve) => {
        socket.resume();
        socket.once('close', () => resolve(Date.now() - began));
      });
    // Node's defaults held them 60-90 s; the test's timeout is 20 s.
    const ms = await Promise.all([closed(silent), closed(slow)]);
    for (const t of ms) assert.ok(t < 10_000, `closed after ${t} ms`);
  });

  it(
    'a --web.write-timeout beyond Node timers (which would cut every scrape after 1 ms) is refused (exit 1)',
    { timeout: 10_000 },
    async () => {
      const r = await runCli([
        'run',
        `--config=${path.join(work, 'config.yaml')}`,
        `--source=files:${work}`,
        '--web.write-timeout=597h',
      ]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr.split('\n')[0]!,
        /^error: option '--web\.write-timeout <duration>' argument '597h' is invalid\. expected a duration of at most 596h/,
      );
    },
  );
});
