// Concurrent config reloads against a real bridge process: RSS before, at peak and after a burst
// of POST /-/reload, with a single reload as the floor, measured in the same run.
//
//   node bench/reloadStormBench.ts [objects=20000] [bursts=1,20,100]
//   BENCH_ONLY=reload npm run bench      (BENCH_RELOAD_OBJECTS: objects)
//
// Each burst runs on a fresh bridge process (the dist/ bundle, files source: `objects` Backup
// objects in one JSON List, the shipped examples/backup config, --web.enable-lifecycle): RSS is read
// from /proc every 20 ms from just before the burst (all requests sent at once, each on its own
// connection) until 1 s after the last answer; "after" is RSS 5 s later. BENCH_BRIDGE_ROOT runs
// another checkout's dist/ (e.g. the code before reloads were single-flight).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { writeObjects } from './concurrentScrapeBench.ts';
import { bridgeEntry } from './peerProcess.ts';

export interface ReloadBurstResult {
  readonly concurrency: number;
  /** RSS after the first sync, before the burst. */
  readonly beforeMB: number;
  readonly peakMB: number;
  /** RSS 5 s after the last answer. */
  readonly afterMB: number;
  /** Answers by status and first line. */
  readonly answers: Record<string, number>;
  /** From the first request to the last answer. */
  readonly wallMs: number;
  /** "config reloaded" log lines: reloads that were applied. */
  readonly applied: number;
}

/** RSS in MB; NaN once the process is gone. */
function rssMB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function call(port: number, method: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path: p, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

async function burst(dir: string, concurrency: number): Promise<ReloadBurstResult> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let log = '';
  const child = spawn(
    process.execPath,
    [
      bridgeEntry,
      'run',
      `--config=${path.join(dir, 'config.yaml')}`,
      `--source=files:${path.join(dir, 'objects')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--telemetry.listen-address=',
      '--web.enable-lifecycle',
      '--log.level=info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    for (let i = 0; i < 600; i++) {
      if ((await call(port, 'GET', '/readyz')).status === 200) break;
      await delay(200);
    }
    await delay(2000);
    const pid = child.pid!;
    const beforeMB = rssMB(pid);
    let peakMB = beforeMB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rss = rssMB(pid);
        if (rss > peakMB) peakMB = rss;
        await delay(20);
      }
    })();
    const began = performance.now();
    const results = await Promise.all(
      Array.from({ length: concurrency }, () => call(port, 'POST', '/-/reload')),
    );
    const wallMs = performance.now() - began;
    await delay(1000);
    sampling = false;
    await sampler;
    await delay(5000);
    const afterMB = rssMB(pid);
    const answers: Record<string, number> = {};
    for (const r of results) {
      const key = `${r.status} ${r.body.split('\n')[0]}`;
      answers[key] = (answers[key] ?? 0) + 1;
    }
    const applied = log.split('\n').filter((l) => l.includes('"msg":"config reloaded')).length;
    if (child.exitCode !== null || child.signalCode !== null)
      answers[
        `bridge exited (${child.exitCode ?? child.signalCode}): ${log.trim().split('\n').at(-1)?.slice(0, 200)}`
      ] = 1;
    return { concurrency, beforeMB, peakMB, afterMB, answers, wallMs, applied };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function benchReloadStorm(
  objects: number,
  bursts: readonly number[],
): Promise<ReloadBurstResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-reload-'));
  try {
    copyFileSync(
      path.join(import.meta.dirname, '..', 'examples/backup/config.yaml'),
      path.join(dir, 'config.yaml'),
    );
    mkdirSync(path.join(dir, 'objects'));
    writeObjects(path.join(dir, 'objects'), objects);
    const out: ReloadBurstResult[] = [];
    for (const concurrency of bursts) out.push(await burst(dir, concurrency));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printReloadStorm(objects: number, results: readonly ReloadBurstResult[]): void {
  console.log(
    `\nConcurrent POST /-/reload, ${objects.toLocaleString('en')} objects (files source, examples/backup)\n`,
  );
  console.log(
    '| concurrent reloads | RSS before | peak | after | peak over before | reloads applied | wall | answers |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    console.log(
      `| ${r.concurrency} | ${r.beforeMB.toFixed(0)} MB | ${r.peakMB.toFixed(0)} MB | ${r.afterMB.toFixed(0)} MB | +${(r.peakMB - r.beforeMB).toFixed(0)} MB | ${r.applied} | ${(r.wallMs / 1000).toFixed(1)} s | ${Object.entries(
        r.answers,
      )
        .map(([k, n]) => `${n} × ${k}`)
        .join('; ')} |`,
    );
  }
}

/**
 * The section of `npm run bench`: runs unless another BENCH_ONLY is asked for, and ends the run
 * when BENCH_ONLY=reload (BENCH_RELOAD_OBJECTS: objects, default 20,000).
 */
export async function reloadStormSection(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only && only !== 'reload') return;
  const objects = Number(process.env.BENCH_RELOAD_OBJECTS ?? 20_000);
  printReloadStorm(objects, await benchReloadStorm(objects, [1, 20, 100]));
  if (only === 'reload') process.exit(0);
}

if (import.meta.main) {
  const objects = Number(process.argv[2] ?? 20_000);
  const bursts = (process.argv[3] ?? '1,20,100').split(',').map(Number);
  printReloadStorm(objects, await benchReloadStorm(objects, bursts));
}
