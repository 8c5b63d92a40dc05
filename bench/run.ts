// `npm run bench`: engine throughput (objects and series computed per second). Single process,
// single thread: the figures are per core. Results are printed as a Markdown table.
import {
  benchEngine,
  backupObject,
  CEL_CONFIG,
  compileFile,
  compileText,
  PATH_CONFIG,
} from './engineBench.ts';
import { parseObjects } from '../src/sources/objectFiles.ts';
import { readFileSync } from 'node:fs';
import type { HttpBenchResult } from './httpBench.ts';
import type { KubeBenchResult } from './kubeBench.ts';
import type { OtlpBenchResult } from './otlpBenchMain.ts';

// The benchmarks that spawn the bridge run its dist/ bundle (bench/runDist.js), what the package
// and the image run: build it from these sources first.
if (process.env.BENCH_BRIDGE_FROM !== 'src' && !process.env.BENCH_BRIDGE_ROOT) {
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
}

// Large scale on a real kube-apiserver: the bridge next to kube-state-metrics, sharding, a million
// series (bench/scaleBench.ts). `BENCH_ONLY=scale` runs only this; otherwise it runs last.
const scaleEnv: NodeJS.ProcessEnv = { BENCH_KSM_OBJECTS: '10000', ...process.env };
async function runScale(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  console.log(
    `\nLarge scale (BENCH_KSM_OBJECTS=${scaleEnv.BENCH_KSM_OBJECTS}, BENCH_SHARD_OBJECTS=${scaleEnv.BENCH_SHARD_OBJECTS ?? ''}, BENCH_MILLION_OBJECTS=${scaleEnv.BENCH_MILLION_OBJECTS ?? ''}):`,
  );
  execFileSync(process.execPath, ['--expose-gc', 'bench/scaleBench.ts'], { stdio: 'inherit', env: scaleEnv });
}
if (process.env.BENCH_ONLY === 'scale') {
  await runScale();
  process.exit(0);
}

// Scrape speed on a real kube-apiserver: the bridge, kube-state-metrics and a static server
// holding the same bodies, then the bridge under churn (bench/scrapeSpeedBench.ts).
// `BENCH_ONLY=scrape` runs only this; otherwise it runs last.
async function runScrapeSpeed(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['--expose-gc', 'bench/scrapeSpeedBench.ts'], { stdio: 'inherit' });
}
if (process.env.BENCH_ONLY === 'scrape') {
  await runScrapeSpeed();
  process.exit(0);
}

await (await import('./authFloodBench.ts')).authFloodSection(); // wrong-password flood; BENCH_ONLY=auth
await (await import('./reloadStormBench.ts')).reloadStormSection(); // concurrent reloads; BENCH_ONLY=reload
await (await import('./budgetBench.ts')).budgetSection(); // budgets across objects; BENCH_ONLY=budgets
// Aggregate-only and health + conditions configs at 100k objects, each against a plain per-object
// config in the same run; BENCH_ONLY=aggregate, BENCH_ONLY=health.
for (const [only, section] of [
  ['aggregate', async () => (await import('./aggregateBench.ts')).aggregateSection()],
  ['health', async () => (await import('./healthBench.ts')).healthSection()],
] as const) {
  if (process.env.BENCH_ONLY && process.env.BENCH_ONLY !== only) continue;
  await section();
  if (process.env.BENCH_ONLY === only) process.exit(0);
}
const N = Number(process.env.BENCH_OBJECTS ?? 50_000);
const objects = Array.from({ length: N }, (_, i) => backupObject(i));

function examples(dir: string, file: string): Record<string, unknown>[] {
  const base = parseObjects(readFileSync(`examples/${dir}/${file}`, 'utf8'), file).objects.map(
    (o) => o.object,
  );
  return Array.from({ length: N }, (_, i) => {
    const copy = structuredClone(base[i % base.length]!);
    (copy.metadata as Record<string, unknown>).name = `obj-${i}`;
    return copy;
  });
}

const results = [
  benchEngine('path config (3 gauges)', compileText(PATH_CONFIG), objects),
  benchEngine('CEL config (3 gauges)', compileText(CEL_CONFIG), objects),
  benchEngine(
    'examples/backup',
    compileFile('examples/backup/config.yaml'),
    examples('backup', 'backup.yaml'),
  ),
  benchEngine(
    'examples/cert-manager',
    compileFile('examples/cert-manager/config.yaml'),
    examples('cert-manager', 'certificates.yaml'),
  ),
];

console.log(`\nEngine: Node ${process.version}, ${N} objects per pass, median of 5 passes\n`);
console.log('| config | series/object | objects/s | series/s |');
console.log('|---|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.seriesPerObject.toFixed(1)} | ${Math.round(r.objectsPerSecond).toLocaleString('en')} | ${Math.round(r.seriesPerSecond).toLocaleString('en')} |`,
  );
}

// Hostile objects: cost of an object over the limits, and the longest event-loop stall while
// ingesting it. `BENCH_ONLY=hostile` stops after this section.
const { benchHostile, printHostile } = await import('./hostileBench.ts');
printHostile(await benchHostile());
if (process.env.BENCH_ONLY === 'hostile') process.exit(0);

// HTTP path at 10k and 100k objects (three series each), each run in a fresh process so heap and
// RSS are not inflated by the runs before it. The first runs use the V8 flag the Deployment ships
// (a smaller young generation, see docs/benchmarks.md); the last repeats the largest size with
// Node's defaults.
const { execFileSync } = await import('node:child_process');
const sizes = (process.env.BENCH_HTTP_OBJECTS ?? '10000,100000').split(',').map(Number);
const RECOMMENDED = ['--max-semi-space-size=8'];
const runs = [
  ...sizes.map((objects) => ({ flags: RECOMMENDED, objects })),
  { flags: [] as string[], objects: Math.max(...sizes) },
];
const http = runs.map(({ flags, objects }) => ({
  flags,
  ...(JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', ...flags, 'bench/httpBenchMain.ts', String(objects)], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  ) as HttpBenchResult),
}));
const f = (x: number) => x.toFixed(1);
console.log(`\nHTTP scrape path (bridge in one process, loopback). Latency in ms, p50 / p99.\n`);
console.log(
  '| objects | node flags | series | floor (naive builder) | render in-process | text GET by curl | text GET (in-process client) | OpenMetrics GET | gzip GET | text GET / floor | OTLP collect+protobuf (one shot) | max event-loop stall | heap MB (loaded) | RSS MB: loaded / server peak (curl scrapes) / with in-process client / with one-shot OTLP |',
);
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of http) {
  console.log(
    `| ${r.objects.toLocaleString('en')} | ${r.flags.join(' ') || 'defaults'} | ${r.series.toLocaleString('en')} | ${f(r.floorMs)} | ${f(r.renderMs)} | ${f(r.curlText.p50)} / ${f(r.curlText.p99)} | ${f(r.text.p50)} / ${f(r.text.p99)} | ${f(r.openmetrics.p50)} / ${f(r.openmetrics.p99)} | ${f(r.gzip.p50)} / ${f(r.gzip.p99)} | ${(r.text.p50 / r.floorMs).toFixed(2)} | ${f(r.otlpCollectSerializeMs)} (${(r.otlpBytes / 2 ** 20).toFixed(1)} MiB) | ${f(r.maxEventLoopStallMs)} | ${f(r.heapMB)} | ${f(r.rssMB)} / ${f(r.peakServerRssMB)} / ${f(r.peakScrapeRssMB)} / ${f(r.peakRssMB)} |`,
  );
}

// OTLP export (5 series per object), the SDK's exporter as the bridge wired it before (batches of
// 20k points split after collecting) against the bridge's time-sliced exporter, with and without
// gzip; each in a fresh process, to a byte-counting sink over loopback.
const otlpSizes = (process.env.BENCH_OTLP_OBJECTS ?? '100000').split(',').map(Number);
console.log(
  `\nOTLP export over loopback HTTP, 5 series per object; medians of 3 exports. "stall" = longest event-loop delay during the exports (wall clock); "stall CPU" = the most main-thread CPU used between two turns of a 1 ms timer (the stall on an idle machine, GC included); "GC" = longest garbage-collection pause (wall); "slice CPU" = longest synchronous stretch of the bridge's exporter in main-thread CPU time.\n`,
);
console.log(
  '| objects | points | exporter | compression | bytes/export | requests | CPU ms/export (process / main thread) | wall ms | stall ms | stall CPU ms | GC ms | slice CPU ms | RSS above loaded MB |',
);
console.log('|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const objects of otlpSizes) {
  for (const [exporter, compression] of [
    ['sdk', 'none'],
    ['bridge', 'none'],
    ['sdk', 'gzip'],
    ['bridge', 'gzip'],
  ] as const) {
    const r = JSON.parse(
      execFileSync(
        process.execPath,
        // The heap flag the Deployment and `npm start` use.
        [
          '--expose-gc',
          '--max-semi-space-size=8',
          'bench/otlpBenchMain.ts',
          String(objects),
          exporter,
          compression,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 26 },
      ),
    ) as OtlpBenchResult;
    console.log(
      `| ${r.objects.toLocaleString('en')} | ${r.points.toLocaleString('en')} | ${r.exporter} | ${r.compression} | ${(r.wireBytes / 2 ** 20).toFixed(1)} MiB | ${r.requests} | ${f(r.cpuMs)} / ${f(r.threadCpuMs)} | ${f(r.wallMs)} | ${f(r.maxLoopDelayMs)} | ${f(r.maxLoopStallCpuMs)} | ${f(r.longestGcPauseMs)} | ${r.longestSliceCpuMs === undefined ? 'n/a' : f(r.longestSliceCpuMs)} | ${f(r.peakRssAboveLoadedMB)} |`,
    );
  }
}

const { benchChurn } = await import('./churnBench.ts');
const churn = await benchChurn();
console.log(
  `\nChurn: 100,000 distinct objects, 5,000 live at a time, both readers collecting each generation.\n`,
);
console.log(`Heap after GC per generation (MB): ${churn.heapMB.map((h) => h.toFixed(1)).join(', ')}`);
console.log(`Growth from generation 2 to 20: ${(churn.heapMB.at(-1)! - churn.heapMB[1]!).toFixed(1)} MB`);

// Initial sync from a real kube-apiserver (needs the binaries from scripts/peers/install.sh).
const { binaryCandidates } = await import('../test/harness/binaries.ts');
const { existsSync } = await import('node:fs');
if (['kube-apiserver', 'etcd', 'kubectl'].every((b) => binaryCandidates(b).some((p) => existsSync(p)))) {
  const kubeObjects = process.env.BENCH_KUBE_OBJECTS ?? '20000';
  const kube = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', 'bench/kubeBench.ts', kubeObjects], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  ) as KubeBenchResult;
  const ms = (x: number | null) => (x === null ? 'refused' : `${Math.round(x).toLocaleString('en')} ms`);
  const ratio = (x: number | null) => (x === null ? '' : ` (${(x / kube.rawListMs).toFixed(2)}×)`);
  console.log(
    `\nInitial sync from a real kube-apiserver: ${kube.objects.toLocaleString('en')} Backup objects, one run (ratios to the bare paginated list of the same run).\n`,
  );
  console.log('| read path / bridge | time | ratio to bare list |');
  console.log('|---|---:|---:|');
  const rows: [string, number | null][] = [
    ['bare paginated list (limit=500, consistent read), fetch + JSON.parse', kube.rawListMs],
    ['the same, gzip-compressed responses', kube.rawListGzipMs],
    [`bare paginated list (limit=${kube.bigPageSize})`, kube.bigPageListMs],
    ['bare list from the watch cache (resourceVersion=0, one response)', kube.watchCacheListMs],
    ['bare streaming list (sendInitialEvents=true), to the end bookmark', kube.watchListMs],
    ['bridge source, paginated list with next-page prefetch, to synced (series built)', kube.syncMs.list],
    ['bridge source, streaming list, to synced (series built)', kube.syncMs['watch-list']],
    [
      'floor: a minimal fresh Node process, spawn to the end of a streaming list (bench/freshListProcess.js)',
      kube.freshListProcessMs,
    ],
    ['bridge process (CLI): spawn to first /healthz 200 (start-up)', kube.healthzMs],
    ['bridge process (CLI): spawn to /readyz 200 (best of the rounds)', kube.readyzMs],
  ];
  for (const [name, value] of rows)
    console.log(`| ${name} | ${ms(value)} | ${value === null ? '' : ratio(value).slice(2, -2)} |`);
  if (kube.watchListRefused) console.log(`\nStreaming list refused: ${kube.watchListRefused}`);
  console.log(
    `\nBridge process to /readyz: ${(kube.readyzMs / kube.freshListProcessMs).toFixed(2)}× the minimal process's streaming list; ${Math.round(kube.readyzCpuMs).toLocaleString('en')} ms of CPU by then.`,
  );
  console.log(
    `\nHeap per 1,000 objects (paginated-list source): ${kube.heapPerThousandKB.toFixed(0)} KB total, ${kube.seriesHeapPerThousandKB.toFixed(0)} KB series alone; peak RSS of the bench process ${kube.peakRssMB.toFixed(0)} MB; RSS of the bridge process 2 s after /readyz 200: ${kube.rssAfterSyncMB.toFixed(0)} MB.`,
  );
} else {
  console.log('\nKubernetes sync benchmark skipped: run `bash scripts/peers/install.sh` first.');
}
if (['kube-apiserver', 'etcd', 'kubectl'].every((b) => binaryCandidates(b).some((p) => existsSync(p)))) {
  await runScale();
  await runScrapeSpeed();
}
