// Cost of hostile objects: what one object over the limits costs in `render` and in
// `run`, and the longest event-loop stall while `run` ingests it (sliced, as `run` does, next to
// the same object in one synchronous stretch, as before slicing). Run alone with
//   node --expose-gc bench/hostileBench.ts
// or as part of `npm run bench`. Each figure is the median of several repetitions; "floor" is the
// same measurement without the hostile object, in the same process, so the ratio is meaningful on
// a loaded machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { main } from '../src/cli/main.ts';
import { parseConfig } from '../src/config/loadConfig.ts';
import { compileConfig } from '../src/engine/compile/compileConfig.ts';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../src/engine/store/ObjectIngestor.ts';
import type { IngestSlicing } from '../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../src/engine/store/SeriesCache.ts';
import { FileSource } from '../src/sources/FileSource.ts';
import { benignFoo, FOO_CONFIG, hostileFoo, writeHostileFixture } from '../test/support/hostileFoo.ts';
import type { HostileFooOptions } from '../test/support/hostileFoo.ts';
import { systemClock } from '../src/runtime/Clock.ts';

const REPEAT = Number(process.env.BENCH_HOSTILE_REPEAT ?? 5);

/** The slicing `run` configures (app/Pipeline.ts): the defaults. */
const RUN_SLICING: IngestSlicing = {};

export interface HostileCase {
  readonly name: string;
  readonly object: HostileFooOptions;
  /** What the defaults do with it. */
  readonly expected: string;
}

export const CASES: readonly HostileCase[] = [
  {
    name: 'the hostile Foo: 100 KB note × 20,000 elements',
    object: {},
    expected: 'limit-label-value-length',
  },
  {
    name: '60 KB note × 20,000 elements',
    object: { noteBytes: 60_000 },
    expected: 'limit-object-label-bytes',
  },
  { name: '10-byte note × 20,000 elements', object: { noteBytes: 10 }, expected: 'limit-object-series' },
  {
    name: 'near the largest object the defaults keep: 1,997 elements × 380-byte note (2,000 series, ≈ 1 MB of labels)',
    object: { noteBytes: 380, items: 1_997 },
    expected: 'upserted',
  },
];

export interface HostileRow {
  readonly name: string;
  readonly outcome: string;
  readonly renderWallMs: number;
  readonly renderCpuMs: number;
  /** `run`'s path: ObjectIngestor.ingest with the slicing `run` uses. */
  readonly ingestCpuMs: number;
  readonly runMaxStallMs: number;
  /** Event-loop turns the object's generation took (1: one synchronous stretch). */
  readonly runTurns: number;
  /** Longest synchronous stretch of `run`'s ingest (JSON.parse and first attempt, or one slice), main-thread CPU. */
  readonly runLongestSliceCpuMs: number;
  /** The same object in one synchronous stretch (ObjectIngestor.upsert, as `run` did before slicing). */
  readonly syncCpuMs: number;
  readonly syncMaxStallMs: number;
  readonly fileRunMaxStallMs: number;
}

export interface HostileResult {
  readonly floor: { renderWallMs: number; renderCpuMs: number; runMaxStallMs: number };
  readonly rows: HostileRow[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const silentIo = { stdout: () => undefined, stderr: () => undefined };

/** `render` in-process (the CLI entry, as a user runs it minus Node's start-up). */
async function measureRender(dir: string): Promise<{ wallMs: number; cpuMs: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    globalThis.gc?.();
    const cpu = process.cpuUsage();
    const start = performance.now();
    const code = await main(['render', '--config', join(dir, 'config.yaml'), join(dir, 'objects')], silentIo);
    walls.push(performance.now() - start);
    cpus.push(cpuMs(process.cpuUsage(cpu)));
    if (code !== 0) throw new Error(`render exited ${code}`);
  }
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

/**
 * The longest event-loop stall while `work` runs: a 1 ms interval timer notes the longest gap
 * between its ticks (what a request waiting on the loop would see), cross-checked by
 * perf_hooks.monitorEventLoopDelay.
 */
async function maxStall(work: () => unknown): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  histogram.enable();
  await sleep(20);
  await work();
  await sleep(20);
  histogram.disable();
  clearInterval(timer);
  return Math.max(worst, histogram.max / 1e6);
}

/**
 * Ingests the object as a watch event does (its JSON parsed, then handed to the ingestor), in the
 * loop. `sliced`: `run`'s path, `ingest` with the slicing the Pipeline configures; otherwise the
 * synchronous `upsert` (one stretch, as before slicing), measured in the same run for comparison.
 */
async function measureIngest(
  options: HostileFooOptions,
  sliced: boolean,
): Promise<{ outcome: string; cpuMs: number; stallMs: number; turns: number; longestSliceCpuMs: number }> {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'));
  const cpus: number[] = [];
  const stalls: number[] = [];
  const turnCounts: number[] = [];
  const longestSlices: number[] = [];
  let outcome = '';
  for (let i = 0; i < REPEAT; i++) {
    const cache = new SeriesCache(config.families);
    let turns = 1;
    let longest = 0;
    /** Runs one synchronous stretch, noting its main-thread CPU time. */
    const stretch = <T>(work: () => T): T => {
      const before = process.threadCpuUsage();
      try {
        return work();
      } finally {
        longest = Math.max(longest, cpuMs(process.threadCpuUsage(before)));
      }
    };
    const ingestor = new ObjectIngestor(
      config,
      cache,
      new ObjectErrors(),
      sliced
        ? {
            slicing: {
              ...RUN_SLICING,
              clock: {
                ...systemClock,
                setImmediate: (next: () => void) => void setImmediate(() => (turns++, stretch(next))),
              },
            },
          }
        : {},
    );
    ingestor.upsertNow('bench', 'benign', benignFoo('benign'));
    const json = JSON.stringify(hostileFoo(options));
    globalThis.gc?.();
    let cpu = 0;
    stalls.push(
      await maxStall(async () => {
        await sleep(5);
        const before = process.cpuUsage();
        // As the reflector: the event's JSON is parsed, then handed to the ingestor.
        const first = stretch(() => {
          const object: unknown = JSON.parse(json);
          return sliced
            ? ingestor.upsert('bench', 'hostile', object)
            : ingestor.upsertNow('bench', 'hostile', object);
        });
        outcome = await first;
        cpu = cpuMs(process.cpuUsage(before));
      }),
    );
    cpus.push(cpu);
    turnCounts.push(turns);
    longestSlices.push(longest);
  }
  return {
    outcome,
    cpuMs: median(cpus),
    stallMs: median(stalls),
    turns: median(turnCounts),
    longestSliceCpuMs: median(longestSlices),
  };
}

/** `run --source files:DIR`: the FileSource reads, parses and ingests the directory. */
async function measureFileRun(dir: string): Promise<number> {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'));
  const stalls: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const cache = new SeriesCache(config.families);
    const source = new FileSource({
      inputs: [join(dir, 'objects')],
      sink: new ObjectIngestor(config, cache, new ObjectErrors(), { slicing: RUN_SLICING }),
      logger: pino({ level: 'silent' }),
      rescanIntervalMs: 3_600_000,
    });
    globalThis.gc?.();
    stalls.push(await maxStall(() => source.start()));
    await source.stop();
  }
  return median(stalls);
}

export async function benchHostile(): Promise<HostileResult> {
  const root = mkdtempSync(join(tmpdir(), 'hostile-bench-'));
  try {
    const floorDir = join(root, 'floor');
    writeHostileFixture(floorDir, { noteBytes: 12, items: 3 });
    const floorRender = await measureRender(floorDir);
    const floorRun = await measureFileRun(floorDir);
    const rows: HostileRow[] = [];
    for (const [i, c] of CASES.entries()) {
      const dir = join(root, `case-${i}`);
      writeHostileFixture(dir, c.object);
      const render = await measureRender(dir);
      const ingest = await measureIngest(c.object, true);
      const sync = await measureIngest(c.object, false);
      for (const got of [ingest.outcome, sync.outcome])
        if (got !== (c.expected === 'upserted' ? 'upserted' : 'limited'))
          throw new Error(`${c.name}: expected ${c.expected}, got ${got}`);
      rows.push({
        name: c.name,
        outcome: c.expected === 'upserted' ? 'kept' : `dropped (${c.expected})`,
        renderWallMs: render.wallMs,
        renderCpuMs: render.cpuMs,
        ingestCpuMs: ingest.cpuMs,
        runMaxStallMs: ingest.stallMs,
        runTurns: ingest.turns,
        runLongestSliceCpuMs: ingest.longestSliceCpuMs,
        syncCpuMs: sync.cpuMs,
        syncMaxStallMs: sync.stallMs,
        fileRunMaxStallMs: await measureFileRun(dir),
      });
    }
    return {
      floor: { renderWallMs: floorRender.wallMs, renderCpuMs: floorRender.cpuMs, runMaxStallMs: floorRun },
      rows,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function printHostile(r: HostileResult): void {
  const f = (x: number) => x.toFixed(1);
  console.log(
    `\nHostile objects (median of ${REPEAT}; render in-process through the CLI entry, without Node's start-up; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}).\n`,
  );
  console.log(
    '| object | outcome (defaults) | render wall ms | render CPU ms | run: ingest CPU ms (JSON.parse + series) | run: event-loop turns | run: longest stretch, main-thread CPU ms | run: max event-loop stall ms, watch event | one synchronous stretch (before): CPU ms | one synchronous stretch (before): max stall ms | run: max stall ms, files source |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| floor: the benign object alone | kept | ${f(r.floor.renderWallMs)} | ${f(r.floor.renderCpuMs)} | | | | | | | ${f(r.floor.runMaxStallMs)} |`,
  );
  for (const row of r.rows) {
    console.log(
      `| ${row.name} | ${row.outcome} | ${f(row.renderWallMs)} | ${f(row.renderCpuMs)} | ${f(row.ingestCpuMs)} | ${row.runTurns} | ${f(row.runLongestSliceCpuMs)} | ${f(row.runMaxStallMs)} | ${f(row.syncCpuMs)} | ${f(row.syncMaxStallMs)} | ${f(row.fileRunMaxStallMs)} |`,
    );
  }
}

if (import.meta.main) printHostile(await benchHostile());
