// Two or more configs over the same generated objects, each in a fresh bridge process on loopback
// (files of generated objects would measure YAML parsing; the objects come from an in-process
// source, as in httpBench.ts): series served, scrape time (curl, text), RSS after the sync and CPU
// per update event, as ratios to a reference config measured in the same run. The section files
// (aggregateBench.ts, healthBench.ts) name the configs and the objects.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Bridge } from '../src/app/Bridge.ts';
import type { ObjectSink, Source } from '../src/sources/Source.ts';

/** The objects of a comparison: object `i` at update `version` (0: the listing). */
export type ObjectFactory = (i: number, version: number) => Record<string, unknown>;

const SCRAPES = 10;

/** Delivers the objects as one listing; keeps the sink for the updates (watch events). */
class GeneratedObjects implements Source {
  readonly name = 'generated';
  synced = false;
  readonly sink: ObjectSink;
  private readonly _count: number;
  private readonly _object: ObjectFactory;
  constructor(count: number, object: ObjectFactory, sink: ObjectSink) {
    this._count = count;
    this._object = object;
    this.sink = sink;
  }
  start(): Promise<void> {
    this.sink.beginSync('generated');
    for (let i = 0; i < this._count; i++) this.sink.upsert('generated', `k${i}`, this._object(i, 0));
    this.sink.endSync('generated');
    this.synced = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

export interface ConfigRun {
  readonly config: string;
  readonly objects: number;
  readonly series: number;
  readonly bytes: number;
  readonly syncCpuUs: number;
  readonly scrapeP50Ms: number;
  readonly rssMB: number;
  readonly heapMB: number;
  readonly updateCpuUs: number;
}

/** One config in this process: sync, scrape, then `updates` watch events. */
export async function runConfig(
  name: string,
  configText: string,
  object: ObjectFactory,
  objects: number,
  updates: number,
): Promise<ConfigRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, configText);
  let source: GeneratedObjects | undefined;
  const bridge = await Bridge.create({
    config: file,
    source: 'generated',
    sourceFactory: (_config, sink) => [(source = new GeneratedObjects(objects, object, sink))],
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
  const syncStart = process.cpuUsage();
  await bridge.start();
  const syncCpu = process.cpuUsage(syncStart);
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
  for (let u = 0; u < updates; u++) {
    const i = (u * 7919) % objects;
    source!.sink.upsert('generated', `k${i}`, object(i, 1 + Math.floor(u / objects)));
  }
  const cpu = process.cpuUsage(before);
  await bridge.stop();
  scrapes.sort((a, b) => a - b);
  return {
    config: name,
    objects,
    series,
    bytes,
    syncCpuUs: (syncCpu.user + syncCpu.system) / objects,
    scrapeP50Ms: scrapes[Math.floor(scrapes.length / 2)]!,
    rssMB: mem.rss / 2 ** 20,
    heapMB: mem.heapUsed / 2 ** 20,
    updateCpuUs: (cpu.user + cpu.system) / updates,
  };
}

/**
 * Runs each config twice in a fresh process (`moduleFile child CONFIG OBJECTS`, which the section
 * module answers with `childMain`), in alternating order, and prints a table of the means with
 * each config's ratios to `reference`.
 */
export function compareConfigs(options: {
  readonly title: string;
  readonly moduleFile: string;
  readonly configs: readonly string[];
  readonly reference: string;
  readonly objects: number;
}): ConfigRun[] {
  const runs: ConfigRun[] = [];
  for (const round of [0, 1])
    for (const config of round === 0 ? options.configs : [...options.configs].reverse())
      runs.push(
        JSON.parse(
          execFileSync(
            process.execPath,
            [
              '--expose-gc',
              '--max-semi-space-size=8',
              options.moduleFile,
              'child',
              config,
              String(options.objects),
            ],
            { encoding: 'utf8', maxBuffer: 1 << 24 },
          ),
        ) as ConfigRun,
      );
  const mean = (config: string, key: keyof ConfigRun) => {
    const xs = runs.filter((r) => r.config === config).map((r) => r[key] as number);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(`\n${options.title}, each config twice in a fresh process (mean of the two).\n`);
  console.log(
    '| config | series served | body | CPU per listed object | text scrape p50 | RSS after sync | heap used | CPU per update event |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const config of options.configs)
    console.log(
      `| ${config} | ${mean(config, 'series').toLocaleString('en')} | ${f(mean(config, 'bytes') / 1024)} KiB | ${f(mean(config, 'syncCpuUs'))} µs | ${f(mean(config, 'scrapeP50Ms'))} ms | ${f(mean(config, 'rssMB'))} MB | ${f(mean(config, 'heapMB'))} MB | ${f(mean(config, 'updateCpuUs'))} µs |`,
    );
  for (const config of options.configs) {
    if (config === options.reference) continue;
    const ratio = (key: keyof ConfigRun) => mean(config, key) / mean(options.reference, key);
    console.log(
      `| ${config} / ${options.reference} | ${ratio('series').toPrecision(2)} | ${ratio('bytes').toPrecision(2)} | ${ratio('syncCpuUs').toFixed(2)} | ${ratio('scrapeP50Ms').toPrecision(2)} | ${ratio('rssMB').toFixed(2)} | ${ratio('heapMB').toFixed(2)} | ${ratio('updateCpuUs').toFixed(2)} |`,
    );
  }
  return runs;
}
