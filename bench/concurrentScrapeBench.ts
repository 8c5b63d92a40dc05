// Concurrent and slow scrapes against a real bridge process (files source), measuring the server's
// RSS from /proc: `node bench/concurrentScrapeBench.ts [objects] [concurrency] [max-requests] [gzip]`.
import { bridgeEntry } from './peerProcess.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { backupObject, PATH_CONFIG } from './engineBench.ts';

export interface ConcurrentScrapeResult {
  objects: number;
  concurrency: number;
  maxRequests: number;
  gzip: boolean;
  /** RSS after sync, before any scrape. */
  idleRssMB: number;
  /** RSS after one scrape (the steady state a single Prometheus gives). */
  oneScrapeRssMB: number;
  /** Highest RSS sampled (every 20 ms) during the burst of concurrent scrapes. */
  peakRssMB: number;
  /** RSS 5 s after the burst. */
  afterRssMB: number;
  ok: number;
  rejected: number;
  wallMs: number;
}

function procStatus(pid: number, field: 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Writes `count` Backup objects as one JSON List file (the cheapest way to 100k objects). */
export function writeObjects(dir: string, count: number): void {
  const items = Array.from({ length: count }, (_, i) => backupObject(i));
  writeFileSync(path.join(dir, 'objects.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

export async function startBridgeProcess(
  dir: string,
  extraArgs: string[],
): Promise<{ pid: number; port: number; stop: () => Promise<number | null> }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(path.join(dir, 'config.yaml'), PATH_CONFIG);
  mkdirpObjects(dir);
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=8',
      bridgeEntry,
      'run',
      `--config=${path.join(dir, 'config.yaml')}`,
      `--source=files:${path.join(dir, 'objects')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--telemetry.listen-address=',
      '--log.level=warn',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 600; i++) {
    const status = await get(port, '/readyz', {}).catch(() => 0);
    if (status === 200) break;
    await delay(200);
  }
  return {
    pid: child.pid!,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

function mkdirpObjects(dir: string): void {
  const objects = path.join(dir, 'objects');
  try {
    readFileSync(path.join(objects, 'objects.json'));
  } catch {
    throw new Error(`write the objects first: ${objects}/objects.json`);
  }
}

/** GET that reads and discards the body; resolves with the status. */
function get(port: number, p: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function benchConcurrentScrapes(
  objects: number,
  concurrency: number,
  maxRequests: number,
  gzip: boolean,
): Promise<ConcurrentScrapeResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-concurrent-'));
  try {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'objects'));
    writeObjects(path.join(dir, 'objects'), objects);
    const bridge = await startBridgeProcess(dir, [
      `--web.max-requests=${maxRequests}`,
      ...(process.env.BENCH_BRIDGE_ARGS ?? '').split(' ').filter(Boolean),
    ]);
    await delay(1000);
    const idleRssMB = procStatus(bridge.pid, 'VmRSS');
    const headers: Record<string, string> = gzip ? { 'accept-encoding': 'gzip' } : {};
    await get(bridge.port, '/metrics', headers);
    const oneScrapeRssMB = procStatus(bridge.pid, 'VmRSS');
    const began = Date.now();
    let peakRssMB = oneScrapeRssMB;
    const sampler = setInterval(() => (peakRssMB = Math.max(peakRssMB, procStatus(bridge.pid, 'VmRSS'))), 20);
    const statuses = await Promise.all(
      Array.from({ length: concurrency }, () => get(bridge.port, '/metrics', headers).catch(() => 0)),
    );
    clearInterval(sampler);
    const wallMs = Date.now() - began;
    await delay(5000);
    const result = {
      objects,
      concurrency,
      maxRequests,
      gzip,
      idleRssMB,
      oneScrapeRssMB,
      peakRssMB,
      afterRssMB: procStatus(bridge.pid, 'VmRSS'),
      ok: statuses.filter((s) => s === 200).length,
      rejected: statuses.filter((s) => s === 503).length,
      wallMs,
    };
    await bridge.stop();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [objects = '100000', concurrency = '100', maxRequests = '40', gzip = 'false'] = process.argv.slice(2);
  console.log(
    JSON.stringify(
      await benchConcurrentScrapes(
        Number(objects),
        Number(concurrency),
        Number(maxRequests),
        gzip === 'gzip',
      ),
    ),
  );
}
