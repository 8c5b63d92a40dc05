// Engine throughput of two trees in one process, alternating rounds, so a loaded machine affects
// both alike: the one-go engine (CompiledResource.computeSeries, as engineBench.ts) and `run`'s
// ingest path (ObjectIngestor.upsert with run's slicing, or `ingest` in trees from before the
// engine moved into engine/store). CPU time of the process per pass. Usage, e.g. against the commit before a change:
//   git archive HEAD~1 src bench test/support | tar -x -C /tmp/before
//   ln -s "$PWD/node_modules" /tmp/before/node_modules
//   node --expose-gc bench/engineAbBench.ts /tmp/before
// Environment: BENCH_OBJECTS (default 20000), AB_ROUNDS (default 10).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as EngineBench from './engineBench.ts';
import type { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import type { ObjectIngestor } from '../src/engine/store/ObjectIngestor.ts';
import type { SeriesCache } from '../src/engine/store/SeriesCache.ts';

interface Tree {
  readonly bench: typeof EngineBench;
  readonly ObjectIngestor: typeof ObjectIngestor;
  readonly SeriesCache: typeof SeriesCache;
  readonly ObjectErrors: typeof ObjectErrors;
}

async function load(root: string): Promise<Tree> {
  const at = (p: string) => resolve(root, p);
  // The store's files moved from engine/ to engine/store/; either tree layout loads.
  const store = (file: string) =>
    at(existsSync(at(`src/engine/store/${file}`)) ? `src/engine/store/${file}` : `src/engine/${file}`);
  return {
    bench: (await import(at('bench/engineBench.ts'))) as Tree['bench'],
    ObjectIngestor: ((await import(store('ObjectIngestor.ts'))) as { ObjectIngestor: Tree['ObjectIngestor'] })
      .ObjectIngestor,
    SeriesCache: ((await import(store('SeriesCache.ts'))) as { SeriesCache: Tree['SeriesCache'] })
      .SeriesCache,
    ObjectErrors: ((await import(at('src/engine/ObjectErrors.ts'))) as { ObjectErrors: Tree['ObjectErrors'] })
      .ObjectErrors,
  };
}

const beforeRoot = process.argv[2];
if (!beforeRoot) {
  console.error('usage: node --expose-gc bench/engineAbBench.ts BEFORE_TREE');
  process.exit(2);
}
const trees = { before: await load(beforeRoot), after: await load(resolve(import.meta.dirname, '..')) };
const N = Number(process.env.BENCH_OBJECTS ?? 20_000);
const ROUNDS = Number(process.env.AB_ROUNDS ?? 10);
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const results = new Map<string, number[]>();
const note = (key: string, objectsPerSecond: number) =>
  results.set(key, [...(results.get(key) ?? []), objectsPerSecond]);

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
  for (const tag of order) {
    const t = trees[tag];
    const objects = Array.from({ length: N }, (_, i) => t.bench.backupObject(i));
    for (const [name, text] of [
      ['path config (3 gauges)', t.bench.PATH_CONFIG],
      ['CEL config (3 gauges)', t.bench.CEL_CONFIG],
    ] as const) {
      const config = t.bench.compileText(text);
      const resource = config.resources[0]!;
      const errors = new t.ObjectErrors();
      const ref = { namespace: undefined, name: undefined };
      const engine = () => {
        for (const o of objects) resource.computeSeries(o, 'v1', o.kind as string, errors, ref);
      };
      engine(); // warm-up
      globalThis.gc?.();
      let start = cpuSeconds();
      engine();
      note(`engine, ${name}|${tag}`, N / (cpuSeconds() - start));
      const current = 'upsertNow' in t.ObjectIngestor.prototype;
      // Trees from before the store's sync contract: (config, cache, errors, listener, slicing).
      const Ingestor = t.ObjectIngestor as unknown as new (...args: unknown[]) => {
        upsert(...args: unknown[]): unknown;
        ingest(...args: unknown[]): unknown;
      };
      const cache = new t.SeriesCache(config.families);
      const ingestor = current
        ? new Ingestor(config, cache, errors, { slicing: {} })
        : new Ingestor(config, cache, errors, undefined, {});
      const ingest = () => {
        for (let i = 0; i < N; i++) {
          if (current) void ingestor.upsert('bench', `k${i}`, objects[i]);
          else void ingestor.ingest(`k${i}`, objects[i]);
        }
      };
      ingest(); // first pass adds, the measured one replaces, as updates do
      globalThis.gc?.();
      start = cpuSeconds();
      ingest();
      note(`run's ingest path, ${name}|${tag}`, N / (cpuSeconds() - start));
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => Math.round(x).toLocaleString('en');
console.log(`\nEngine A/B: ${N} objects per pass, ${ROUNDS} alternating rounds, objects/s of process CPU\n`);
console.log('| path | before: median (best) | after: median (best) | after/before, median (best) |');
console.log('|---|---:|---:|---:|');
for (const key of [...results.keys()].filter((k) => k.endsWith('|before'))) {
  const name = key.slice(0, -'|before'.length);
  const b = results.get(key)!;
  const a = results.get(`${name}|after`)!;
  console.log(
    `| ${name} | ${fmt(median(b))} (${fmt(Math.max(...b))}) | ${fmt(median(a))} (${fmt(Math.max(...a))}) | ${(median(a) / median(b)).toFixed(2)} (${(Math.max(...a) / Math.max(...b)).toFixed(2)}) |`,
  );
}
