// Aggregates at scale: Foos in 50 namespaces served as per-object series (a phase gauge and a
// replicas gauge per object) or as aggregates only (count by namespace and phase, sum of replicas
// by namespace), each config in a fresh bridge process on loopback (files of generated objects
// would measure YAML parsing; the objects come from an in-process source, as in httpBench.ts).
// Scrape time (curl, text), RSS after the sync and CPU per update event, with the per-object
// config as the reference in the same run. Usage: node --expose-gc bench/aggregateBench.ts [objects]
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Bridge } from '../src/app/Bridge.ts';
import type { ObjectSink, Source } from '../src/sources/Source.ts';

const NAMESPACES = 50;
const PHASES = ['Pending', 'Running', 'Failed'];
const UPDATES = Number(process.env.BENCH_AGGREGATE_UPDATES ?? 20_000);
const SCRAPES = 10;

const CONFIGS = {
  'per-object': `spec:
  resources:
    - groupVersionKind: { group: bench.example.com, version: v1, kind: Foo }
      customResourceLabels: false
      labelsFromPath:
        namespace: [metadata, namespace]
        name: [metadata, name]
      metrics:
        - name: foo_phase
          help: Phase of each Foo.
          labelsFromPath: { phase: [status, phase] }
          each: { type: Gauge, gauge: { valueExpression: '1' } }
        - name: foo_replicas
          help: spec.replicas of each Foo.
          each: { type: Gauge, gauge: { path: [spec], valueFrom: [replicas] } }
`,
  'aggregate-only': `spec:
  resources:
    - groupVersionKind: { group: bench.example.com, version: v1, kind: Foo }
      customResourceLabels: false
      labelsFromPath:
        namespace: [metadata, namespace]
      metrics:
        - name: foos
          help: Foos by namespace and phase.
          labelsFromPath: { phase: [status, phase] }
          aggregate: { function: count, by: [namespace, phase] }
        - name: foo_replicas_sum
          help: Replicas by namespace.
          aggregate: { function: sum, by: [namespace] }
          each: { type: Gauge, gauge: { path: [spec], valueFrom: [replicas] } }
`,
} as const;
type ConfigName = keyof typeof CONFIGS;

function foo(i: number, version: number): Record<string, unknown> {
  return {
    apiVersion: 'bench.example.com/v1',
    kind: 'Foo',
    metadata: { name: `foo-${i}`, namespace: `ns-${i % NAMESPACES}`, uid: `uid-${i}` },
    spec: { replicas: (i + version) % 7 },
    status: { phase: PHASES[(i * 7 + version) % PHASES.length] },
  };
}

/** Delivers the objects once; keeps the sink for the updates. */
class GeneratedFoos implements Source {
  readonly name = 'generated';
  synced = false;
  readonly sink: ObjectSink;
  private readonly _count: number;
  constructor(count: number, sink: ObjectSink) {
    this._count = count;
    this.sink = sink;
  }
  start(): Promise<void> {
    for (let i = 0; i < this._count; i++) this.sink.upsert('generated', `k${i}`, foo(i, 0));
    this.synced = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

export interface AggregateRun {
  readonly config: ConfigName;
  readonly objects: number;
  readonly series: number;
  readonly bytes: number;
  readonly scrapeP50Ms: number;
  readonly rssMB: number;
  readonly heapMB: number;
  readonly updateCpuUs: number;
}

async function child(config: ConfigName, objects: number): Promise<AggregateRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-aggregate-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, CONFIGS[config]);
  let source: GeneratedFoos | undefined;
  const bridge = await Bridge.create({
    config: file,
    source: 'generated',
    sourceFactory: (_config, sink) => [(source = new GeneratedFoos(objects, sink))],
    watchConfigFile: false,
    otel: {
      disabled: false,
      prometheus: true,
      prometheusAddress: undefined,
      otlp: [],
      resourceAttributes: {},
      origin: 'bench',
    },
    logger: pino({ level: 'warn' }),
    listenAddress: '127.0.0.1:0',
    telemetryListenAddress: '',
    maxRequests: 0,
  });
  rmSync(dir, { recursive: true, force: true });
  const { main } = await bridge.listen();
  await bridge.start();
  globalThis.gc?.();
  const mem = process.memoryUsage();
  let series = 0;
  for (const f of bridge.cache.families) series += bridge.cache.seriesCount(f);
  const scrapes: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'curl',
        ['-sS', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `http://${main}/metrics`],
        (err, stdout) => (err ? reject(new Error(`curl failed: ${err.message}`)) : resolve(stdout)),
      ),
    );
    const [seconds, size] = out.split(' ').map(Number);
    scrapes.push(seconds! * 1000);
    bytes = size!;
  }
  const before = process.cpuUsage();
  for (let u = 0; u < UPDATES; u++) {
    const i = (u * 7919) % objects;
    source!.sink.upsert('generated', `k${i}`, foo(i, 1 + Math.floor(u / objects)));
  }
  const cpu = process.cpuUsage(before);
  await bridge.stop();
  scrapes.sort((a, b) => a - b);
  return {
    config,
    objects,
    series,
    bytes,
    scrapeP50Ms: scrapes[Math.floor(scrapes.length / 2)]!,
    rssMB: mem.rss / 2 ** 20,
    heapMB: mem.heapUsed / 2 ** 20,
    updateCpuUs: (cpu.user + cpu.system) / UPDATES,
  };
}

/** Both configs, each twice in fresh processes, alternating; prints a table with the ratios. */
export function aggregateSection(objects = Number(process.env.BENCH_AGGREGATE_OBJECTS ?? 100_000)): void {
  const runs: AggregateRun[] = [];
  for (const round of [0, 1])
    for (const config of round === 0 ? ['per-object', 'aggregate-only'] : ['aggregate-only', 'per-object'])
      runs.push(
        JSON.parse(
          execFileSync(
            process.execPath,
            [
              '--expose-gc',
              '--max-semi-space-size=8',
              import.meta.filename,
              'child',
              config,
              String(objects),
            ],
            { encoding: 'utf8', maxBuffer: 1 << 24 },
          ),
        ) as AggregateRun,
      );
  const median = (config: ConfigName, key: keyof AggregateRun) => {
    const xs = runs.filter((r) => r.config === config).map((r) => r[key] as number);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(
    `\nAggregates: ${objects.toLocaleString('en')} Foos in ${NAMESPACES} namespaces, each config twice in a fresh process (mean of the two).\n`,
  );
  console.log(
    '| config | series served | body | text scrape p50 | RSS after sync | heap used | CPU per update event |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const config of ['per-object', 'aggregate-only'] as ConfigName[])
    console.log(
      `| ${config} | ${median(config, 'series').toLocaleString('en')} | ${f(median(config, 'bytes') / 1024)} KiB | ${f(median(config, 'scrapeP50Ms'))} ms | ${f(median(config, 'rssMB'))} MB | ${f(median(config, 'heapMB'))} MB | ${f(median(config, 'updateCpuUs'))} µs |`,
    );
  const ratio = (key: keyof AggregateRun) => median('aggregate-only', key) / median('per-object', key);
  console.log(
    `| aggregate-only / per-object | ${ratio('series').toPrecision(2)} | ${ratio('bytes').toPrecision(2)} | ${ratio('scrapeP50Ms').toPrecision(2)} | ${ratio('rssMB').toFixed(2)} | ${ratio('heapMB').toFixed(2)} | ${ratio('updateCpuUs').toFixed(2)} |`,
  );
}

if (import.meta.main) {
  if (process.argv[2] === 'child') {
    process.stdout.write(JSON.stringify(await child(process.argv[3] as ConfigName, Number(process.argv[4]))));
    process.exit(0);
  }
  aggregateSection(process.argv[2] ? Number(process.argv[2]) : undefined);
}
