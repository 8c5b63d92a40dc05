// Budgets across objects: what a cached series costs on the heap (the coefficients behind the
// defaults in src/engine/limits.ts), and a real bridge process with the heap cap deploy/ sets
// (--max-old-space-size=384) while one tenant creates 300 objects of 1,991 series and 1.1 MB of
// sample lines each (every one under every per-object limit): RSS before, at peak and after the
// objects are deleted, with the default budgets and with every budget off, in the same run.
//
//   node --expose-gc bench/budgetBench.ts [heap|process|defaults|off]...
//   BENCH_ONLY=budgets npm run bench
//
// The process runs use the dist/ bundle (bench/runDist.js; BENCH_BRIDGE_FROM=src: the sources),
// the files source and the Foo config of test/support/hostileFoo.ts.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseConfig } from '../src/config/loadConfig.ts';
import { compileConfig } from '../src/engine/compile/compileConfig.ts';
import { HEAP_BYTES_PER_SERIES, HEAP_BYTES_PER_TEXT_BYTE } from '../src/engine/limits.ts';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { ObjectIngestor, seriesCost } from '../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../src/engine/store/SeriesCache.ts';
import { FOO_CONFIG, hostileFoo } from '../test/support/hostileFoo.ts';
import { freePort } from '../test/harness/ports.ts';
import { bridgeEntry } from './peerProcess.ts';

/** The tenant's object: 1,988 list elements + 3 phase series = 1,991 series, about 1.1 MB of sample lines. */
export const FLOOD_OBJECT = { noteBytes: 400, items: 1_988 } as const;

export interface HeapShape {
  readonly name: string;
  readonly noteBytes: number;
  readonly items: number;
  readonly objects: number;
}

export const HEAP_SHAPES: readonly HeapShape[] = [
  { name: 'small objects (6 series, 12-byte note)', noteBytes: 12, items: 3, objects: 30_000 },
  { name: '53 series, 100-byte note', noteBytes: 100, items: 50, objects: 3_000 },
  { name: 'the tenant object (1,991 series, 400-byte note)', ...FLOOD_OBJECT, objects: 60 },
  { name: '203 series, 2,000-byte note', noteBytes: 2_000, items: 200, objects: 400 },
];

export interface HeapRow {
  readonly shape: HeapShape;
  readonly series: number;
  readonly bytes: number;
  /** Heap used after a full GC, minus before, with the objects cached. */
  readonly heap: number;
}

export interface HeapResult {
  readonly rows: HeapRow[];
  /** Least squares, heap ≈ perSeries × series + perTextByte × bytes, over every shape. */
  readonly perSeries: number;
  readonly perTextByte: number;
}

function fullGc(): void {
  if (!globalThis.gc) throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
}

/** Heap taken by a store holding each shape's objects (each JSON-parsed, as a watch event). */
export function measureHeap(shapes: readonly HeapShape[] = HEAP_SHAPES): HeapResult {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'));
  const rows: HeapRow[] = [];
  for (const shape of shapes) {
    const cache = new SeriesCache(config.families);
    const ingestor = new ObjectIngestor(config, cache, new ObjectErrors(), {
      budgets: { totalSeries: 0, totalSeriesBytes: 0, namespaceSeries: 0, namespaceSeriesBytes: 0 },
    });
    fullGc();
    const before = process.memoryUsage().heapUsed;
    let series = 0;
    let bytes = 0;
    for (let i = 0; i < shape.objects; i++) {
      const object: unknown = JSON.parse(
        JSON.stringify(hostileFoo({ noteBytes: shape.noteBytes, items: shape.items, name: `o-${i}` })),
      );
      if (ingestor.upsertNow('bench', `k${i}`, object) !== 'upserted')
        throw new Error(`${shape.name}: not kept`);
    }
    fullGc();
    const heap = process.memoryUsage().heapUsed - before;
    for (const family of config.families)
      for (const block of cache.blocks(family)) {
        const cost = seriesCost([block]);
        series += cost.series;
        bytes += cost.bytes;
      }
    rows.push({ shape, series, bytes, heap });
    // Keep the cache alive until measured.
    if (cache.objectCount !== shape.objects) throw new Error('objects lost');
  }
  // Two-parameter least squares without intercept: [Σs² Σsb; Σsb Σb²] [a; b] = [Σsh; Σbh].
  let ss = 0;
  let sb = 0;
  let bb = 0;
  let sh = 0;
  let bh = 0;
  for (const r of rows) {
    ss += r.series * r.series;
    sb += r.series * r.bytes;
    bb += r.bytes * r.bytes;
    sh += r.series * r.heap;
    bh += r.bytes * r.heap;
  }
  const det = ss * bb - sb * sb;
  return { rows, perSeries: (sh * bb - bh * sb) / det, perTextByte: (ss * bh - sb * sh) / det };
}

export function printHeap(r: HeapResult): void {
  console.log(`\nBudgets: heap per cached series (Node ${process.version}, full GC before and after)\n`);
  console.log(
    '| shape | objects | series | sample-line bytes / series | heap bytes / series | fit: heap bytes / series |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of r.rows) {
    const fit = (r.perSeries * row.series + r.perTextByte * row.bytes) / row.series;
    console.log(
      `| ${row.shape.name} | ${row.shape.objects.toLocaleString('en')} | ${row.series.toLocaleString('en')} | ${(row.bytes / row.series).toFixed(0)} | ${(row.heap / row.series).toFixed(0)} | ${fit.toFixed(0)} |`,
    );
  }
  console.log(
    `\nLeast squares: heap ≈ ${r.perSeries.toFixed(0)} bytes per series + ${r.perTextByte.toFixed(2)} per byte of sample line (limits.ts uses ${HEAP_BYTES_PER_SERIES} and ${HEAP_BYTES_PER_TEXT_BYTE}).`,
  );
}

/**
 * Heap per object with the budgets on and off (every budget 0: no ledger), for small objects in
 * 50 namespaces: what the ledger's entries cost. Best of three, each in a fresh store.
 */
export function measureLedger(objects = 50_000): { onBytes: number; offBytes: number } {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'));
  const parsed = Array.from({ length: objects }, (_, i) => {
    const o = hostileFoo({ noteBytes: 12, items: 3, name: `o-${i}`, namespace: `ns-${i % 50}` });
    (o.metadata as Record<string, unknown>).creationTimestamp = new Date(
      Date.UTC(2026, 0, 1, 0, 0, i % 3600),
    ).toISOString();
    return o;
  });
  const off = { totalSeries: 0, totalSeriesBytes: 0, namespaceSeries: 0, namespaceSeriesBytes: 0 };
  const perObject = (budgets: boolean): number => {
    const cache = new SeriesCache(config.families);
    const ingestor = new ObjectIngestor(config, cache, new ObjectErrors(), budgets ? {} : { budgets: off });
    fullGc();
    const before = process.memoryUsage().heapUsed;
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < objects; i++) ingestor.upsertNow('bench', `k${i}`, parsed[i]);
    fullGc();
    const bytes = (process.memoryUsage().heapUsed - before) / objects;
    if (cache.objectCount !== objects || (budgets && !ingestor.budgets)) throw new Error('not measured');
    return bytes;
  };
  const on: number[] = [];
  const offs: number[] = [];
  for (let i = 0; i < 3; i++) {
    offs.push(perObject(false));
    on.push(perObject(true));
  }
  return { onBytes: Math.min(...on), offBytes: Math.min(...offs) };
}

export function printLedger(r: { onBytes: number; offBytes: number }): void {
  console.log(
    `\nLedger: small objects (6 series) cost ${r.onBytes.toFixed(0)} bytes of heap each with the budgets on, ${r.offBytes.toFixed(0)} with every budget 0: ${(r.onBytes - r.offBytes).toFixed(0)} bytes per object for the ledger.`,
  );
}

// ---- the process ----

/** RSS in MB; NaN once the process is gone. */
export function rssMB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

/** Writes the config, the other teams' objects and returns where the tenant's objects go. */
export function writeFloodFixture(dir: string): { objects: string; flood: string } {
  const objects = path.join(dir, 'objects');
  mkdirSync(path.join(objects, 'teams'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), FOO_CONFIG);
  for (const team of ['team-b', 'team-c'])
    for (let i = 0; i < 25; i++)
      writeFileSync(
        path.join(objects, 'teams', `${team}-${i}.json`),
        JSON.stringify(hostileFoo({ noteBytes: 40, items: 20, name: `${team}-${i}`, namespace: team })),
      );
  return { objects, flood: path.join(objects, 'flood') };
}

/** The tenant's objects, one file each, created a second apart (a creationTimestamp each). */
export function writeFlood(floodDir: string, count: number): void {
  mkdirSync(floodDir, { recursive: true });
  const json = JSON.stringify(hostileFoo({ ...FLOOD_OBJECT, namespace: 'tenant-a' }));
  for (let i = 0; i < count; i++) {
    const object = JSON.parse(json) as { metadata: Record<string, unknown> };
    const name = `hostile-${String(i).padStart(3, '0')}`;
    object.metadata.name = name;
    object.metadata.creationTimestamp = new Date(Date.UTC(2026, 0, 1, 12, 0, i)).toISOString();
    writeFileSync(path.join(floodDir, `${name}.json`), JSON.stringify(object));
  }
}

/** The value of a sample line `name{labels} value` in an exposition, summed over matches. */
function sum(exposition: string, pattern: RegExp): number {
  let total = 0;
  for (const line of exposition.split('\n')) if (pattern.test(line)) total += Number(line.split(' ').at(-1));
  return total;
}

export interface FloodRun {
  readonly budgets: 'defaults' | 'off';
  readonly beforeMB: number;
  readonly peakMB: number;
  /** Heap cap reached: the process died (exit code or signal), or undefined. */
  readonly died: string | undefined;
  /** RSS and V8 heap used 15 s after the objects were deleted, and 90 s after (scrapes every 15 s). */
  readonly afterMB: number;
  readonly afterHeapMB: number;
  readonly after90MB: number;
  readonly after90HeapMB: number;
  readonly beforeHeapMB: number;
  /** V8 heap used after the flood was ingested (one sample, not a maximum). */
  readonly peakHeapMB: number;
  /** Tenant objects served at the peak, of 300. */
  readonly tenantObjects: number;
  /** Other teams' series at the peak (and before: all of them). */
  readonly otherSeries: number;
  readonly otherSeriesBefore: number;
  readonly scrapeMB: number;
  readonly ingestSeconds: number;
  /** The budget line of the startup log. */
  readonly budgetLog: string;
  readonly cutOffs: string[];
}

const INGEST_DEADLINE_MS = 240_000;

const BUDGETS_OFF = [
  '--limits.total-series=0',
  '--limits.total-series-bytes=0',
  '--limits.namespace-series=0',
  '--limits.namespace-series-bytes=0',
];

/**
 * One bridge process (deploy/'s NODE_OPTIONS) through the flood: before (other teams only), the
 * tenant's objects created and scraped twice (peak), then deleted (after: 10 s later, with a
 * scrape in between).
 */
export async function floodRun(
  budgets: 'defaults' | 'off',
  count = 300,
  entry: string = bridgeEntry,
): Promise<FloodRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-budget-'));
  const { objects, flood } = writeFloodFixture(dir);
  const port = await freePort();
  const telemetry = await freePort();
  let log = '';
  const child = spawn(
    process.execPath,
    [
      entry,
      'run',
      `--config=${path.join(dir, 'config.yaml')}`,
      `--source=files:${objects}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--telemetry.listen-address=127.0.0.1:${telemetry}`,
      '--log.level=info',
      ...(budgets === 'off' ? BUDGETS_OFF : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // deploy/05-deployment.yaml's NODE_OPTIONS.
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=384 --max-semi-space-size=8 --expose-gc' },
    },
  );
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lastLog = () => log.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
  const dead = () =>
    child.exitCode !== null || child.signalCode !== null
      ? `exit ${child.exitCode ?? child.signalCode}`
      : undefined;
  const pid = child.pid!;
  let peakMB = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rss = rssMB(pid);
      if (rss > peakMB) peakMB = rss;
      await delay(50);
    }
  })();
  const events = async () => {
    const t = (await get(telemetry, '/metrics')).body;
    return {
      kept: sum(t, /^crd_metrics_bridge_object_events_total\{outcome="(upserted|limited)"/),
      deleted: sum(t, /^crd_metrics_bridge_object_events_total\{outcome="(deleted|unknown-delete)"/),
      text: t,
    };
  };
  const heapMB = async () =>
    sum((await get(telemetry, '/metrics')).body, /^nodejs_heap_size_used_bytes /) / 2 ** 20;
  const other = (body: string) => body.split('\n').filter((l) => /namespace="team-[bc]"/.test(l)).length;
  try {
    for (let i = 0; i < 600 && !dead() && (await get(port, '/readyz')).status !== 200; i++) await delay(200);
    if (dead()) throw new Error(`the bridge did not start (${dead()}): ${lastLog()}`);
    await delay(2000);
    const otherSeriesBefore = other((await get(port, '/metrics')).body);
    await delay(1000);
    const beforeMB = rssMB(pid);
    const beforeHeapMB = await heapMB();
    peakMB = beforeMB;
    const began = performance.now();
    writeFlood(flood, count);
    const start = (await events()).kept;
    // Bounded: without budgets the process may spend minutes in GC at its heap cap before it dies.
    const deadline = performance.now() + INGEST_DEADLINE_MS;
    while (!dead() && performance.now() < deadline && (await events()).kept < start + count) await delay(250);
    const ingestSeconds = (performance.now() - began) / 1000;
    let tenantObjects = 0;
    let otherSeries = 0;
    let scrapeMB = 0;
    for (let i = 0; i < 2 && !dead(); i++) {
      const body = (await get(port, '/metrics')).body;
      scrapeMB = Buffer.byteLength(body) / 2 ** 20;
      tenantObjects = new Set(body.match(/name="hostile-\d+",namespace="tenant-a"/g) ?? []).size;
      otherSeries = other(body);
    }
    const peakHeapMB = dead() ? NaN : await heapMB();
    const cutOffs = (await events()).text
      .split('\n')
      .filter((l) => /^crd_metrics_bridge_(object_errors_total\{.*kind="limit-|budget)/.test(l));
    const died = dead();
    rmSync(flood, { recursive: true, force: true });
    let afterMB = NaN;
    let afterHeapMB = NaN;
    let after90MB = NaN;
    let after90HeapMB = NaN;
    if (!died) {
      const deletedBefore = (await events()).deleted;
      const until = performance.now() + 60_000;
      while (!dead() && performance.now() < until && (await events()).deleted < deletedBefore + count)
        await delay(250);
      // As in a cluster: Prometheus scrapes both endpoints every 15 s. V8 frees the old space at
      // its next major GC, which nothing forces once the objects are gone.
      const deletedAt = performance.now();
      for (let i = 0; i < 6 && !dead(); i++) {
        await delay(15_000 - ((performance.now() - deletedAt) % 15_000));
        await get(port, '/metrics');
        const heap = await heapMB();
        if (i === 0) {
          afterMB = rssMB(pid);
          afterHeapMB = heap;
        }
      }
      after90MB = rssMB(pid);
      after90HeapMB = await heapMB();
    }
    sampling = false;
    await sampler;
    const budgetLog = /"msg":"(budgets across objects[^"]*)"/.exec(log)?.[1] ?? '';
    return {
      budgets,
      beforeMB,
      peakMB,
      died: died ?? dead(),
      afterMB,
      afterHeapMB,
      after90MB,
      after90HeapMB,
      beforeHeapMB,
      peakHeapMB,
      tenantObjects,
      otherSeries,
      otherSeriesBefore,
      scrapeMB,
      ingestSeconds,
      budgetLog,
      cutOffs,
    };
  } finally {
    sampling = false;
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printFlood(runs: readonly FloodRun[]): void {
  console.log(
    `\nBudgets: 300 objects × 1,991 series (1.1 MB of sample lines each) from one namespace; bridge with NODE_OPTIONS=--max-old-space-size=384 --max-semi-space-size=8 --expose-gc (deploy/), files source; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n`,
  );
  console.log(
    "| budgets | RSS before | RSS peak | RSS 15 s / 90 s after delete | V8 heap used: before / after ingest / 15 s / 90 s after delete | process | tenant objects served | other teams' series (before) | scrape | ingest |",
  );
  console.log('|---|---:|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const r of runs)
    console.log(
      `| ${r.budgets} | ${r.beforeMB.toFixed(0)} MB | ${r.peakMB.toFixed(0)} MB | ${Number.isNaN(r.afterMB) ? '–' : `${r.afterMB.toFixed(0)} / ${r.after90MB.toFixed(0)} MB`} | ${[r.beforeHeapMB, r.peakHeapMB, r.afterHeapMB, r.after90HeapMB].map((x) => (Number.isNaN(x) ? '–' : x.toFixed(0))).join(' / ')} MB | ${r.died ?? 'alive'} | ${r.tenantObjects} | ${r.otherSeries} (${r.otherSeriesBefore}) | ${r.scrapeMB.toFixed(1)} MiB | ${r.ingestSeconds.toFixed(1)} s |`,
    );
  for (const r of runs) {
    if (r.budgetLog) console.log(`\n${r.budgets}: ${r.budgetLog}`);
    for (const line of r.cutOffs) console.log(`    ${line}`);
  }
}

/** The section of `npm run bench`: runs unless another BENCH_ONLY is asked for; ends the run when BENCH_ONLY=budgets. */
export async function budgetSection(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only && only !== 'budgets') return;
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['--expose-gc', path.join(import.meta.dirname, 'budgetBench.ts')], {
    stdio: 'inherit',
  });
  if (only === 'budgets') process.exit(0);
}

if (import.meta.main) {
  const parts = process.argv.slice(2);
  const all = parts.length === 0;
  if (all || parts.includes('heap')) {
    printHeap(measureHeap());
    printLedger(measureLedger());
  }
  const runs: FloodRun[] = [];
  if (all || parts.includes('process') || parts.includes('defaults')) runs.push(await floodRun('defaults'));
  if (all || parts.includes('process') || parts.includes('off')) runs.push(await floodRun('off'));
  if (runs.length > 0) printFlood(runs);
}
