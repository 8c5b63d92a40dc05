import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bridge } from '../src/app/Bridge.ts';
import type { ObjectSink, Source } from '../src/sources/Source.ts';
import type { SeriesCache } from '../src/engine/store/SeriesCache.ts';
import { escapeLabelValue } from '../src/exposition/escape.ts';
import { PrometheusPullReader } from '../src/otel/PrometheusPullReader.ts';
import { CustomResourceMetricProducer } from '../src/otel/CustomResourceMetricProducer.ts';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { backupObject, PATH_CONFIG } from './engineBench.ts';

/** Delivers generated objects once, like a source that has synced. */
class GeneratedSource implements Source {
  readonly name = 'generated';
  synced = false;
  private readonly _count: number;
  private readonly _sink: ObjectSink;

  constructor(count: number, sink: ObjectSink) {
    this._count = count;
    this._sink = sink;
  }

  start(): Promise<void> {
    for (let i = 0; i < this._count; i++) this._sink.upsert('generated', `k${i}`, backupObject(i));
    this.synced = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

function get(
  port: number,
  headers: Record<string, string>,
): Promise<{ ms: number; bytes: number; body: Buffer }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, bytes: body.length, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** The floor: a minimal hand-written text builder over the same series (no escaping shortcuts). */
function naiveBuild(cache: SeriesCache): string {
  const lines: string[] = [];
  for (const family of cache.families) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} gauge`);
    for (const block of cache.blocks(family)) {
      for (const p of block.points) {
        let labels = '';
        for (const k in p.attributes)
          labels += (labels ? ',' : '') + k + '="' + escapeLabelValue(String(p.attributes[k])) + '"';
        lines.push(`${family.name}{${labels}} ${p.value}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

export interface HttpBenchResult {
  objects: number;
  series: number;
  floorMs: number;
  renderMs: number;
  text: { p50: number; p99: number; bytes: number };
  openmetrics: { p50: number; p99: number };
  gzip: { p50: number; p99: number; bytes: number };
  otlpCollectSerializeMs: number;
  otlpBytes: number;
  maxEventLoopStallMs: number;
  /** After loading the objects and a GC. */
  heapMB: number;
  rssMB: number;
  /** Text scrapes by an external client (curl): the server's latency alone. */
  curlText: { p50: number; p99: number };
  /** Highest RSS after loading and the curl scrapes: the server's own peak. */
  peakServerRssMB: number;
  /** Highest RSS up to the end of the scrapes (loading, floor builds, HTTP scrapes, client buffers). */
  peakScrapeRssMB: number;
  /** Highest RSS of the process, the one-shot OTLP serialisation of every point included. */
  peakRssMB: number;
}

export async function benchHttp(objects: number, rounds: number): Promise<HttpBenchResult> {
  const configDir = mkdtempSync(join(tmpdir(), 'bench-http-'));
  const configFile = join(configDir, 'config.yaml');
  writeFileSync(configFile, PATH_CONFIG);
  let source: GeneratedSource | undefined;
  const service = await Bridge.create({
    config: configFile,
    source: 'generated',
    watchConfigFile: false,
    sourceFactory: (_config, sink) => [(source = new GeneratedSource(objects, sink))],
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
    telemetryPath: '/metrics',
    maxRequests: 0,
    targetInfo: false,
  });
  rmSync(configDir, { recursive: true, force: true });
  const { main } = await service.listen();
  await service.start();
  const port = Number(main.split(':').pop());
  void source;
  const cache = service.cache;
  let series = 0;
  for (const f of cache.families) series += cache.seriesCount(f);

  globalThis.gc?.();
  const mem = process.memoryUsage();

  // First, scrapes by a separate client process (curl), so the server's own latency and peak
  // memory are measured without the in-process client's buffers.
  const curl: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'curl',
        ['-sS', '-o', '/dev/null', '-w', '%{time_total}', `http://127.0.0.1:${port}/metrics`],
        (err, stdout) => (err ? reject(new Error(`curl failed: ${err.message}`)) : resolve(stdout)),
      ),
    );
    curl.push(Number(out) * 1000);
  }
  const peakServerRssMB = process.resourceUsage().maxRSS / 1024;

  const floor: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    naiveBuild(cache);
    floor.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  // In-process render through the reader (collect + concatenation), without HTTP.
  const reader = new PrometheusPullReader({ producers: [new CustomResourceMetricProducer(() => cache)] });
  const provider = new MeterProvider({ readers: [reader] });
  const render: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    const parts: string[] = [];
    for await (const chunk of await reader.scrapeCustomResources('text')) parts.push(chunk);
    parts.join('');
    render.push(Number(process.hrtime.bigint() - t) / 1e6);
  }

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const run = async (headers: Record<string, string>) => {
    const ms: number[] = [];
    let bytes = 0;
    await get(port, headers); // warm-up
    for (let i = 0; i < rounds; i++) {
      const r = await get(port, headers);
      ms.push(r.ms);
      bytes = r.bytes;
      if (headers['accept-encoding'] === 'gzip') gunzipSync(r.body);
    }
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), bytes };
  };
  const text = await run({});
  const openmetrics = await run({ accept: 'application/openmetrics-text;version=1.0.0' });
  const gzip = await run({ 'accept-encoding': 'gzip' });
  histogram.disable();

  const peakScrapeRssMB = process.resourceUsage().maxRSS / 1024;
  const otlp: number[] = [];
  let otlpBytes = 0;
  for (let i = 0; i < Math.max(3, Math.floor(rounds / 2)); i++) {
    const t = process.hrtime.bigint();
    const { resourceMetrics } = await reader.collect();
    const payload = ProtobufMetricsSerializer.serializeRequest(resourceMetrics);
    otlp.push(Number(process.hrtime.bigint() - t) / 1e6);
    otlpBytes = payload?.length ?? 0;
  }
  await provider.shutdown();
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  await service.stop();
  return {
    objects,
    series,
    floorMs: percentile(floor, 50),
    renderMs: percentile(render, 50),
    text,
    openmetrics,
    gzip,
    otlpCollectSerializeMs: percentile(otlp, 50),
    otlpBytes,
    maxEventLoopStallMs: histogram.max / 1e6,
    heapMB: mem.heapUsed / 2 ** 20,
    rssMB: mem.rss / 2 ** 20,
    curlText: { p50: percentile(curl, 50), p99: percentile(curl, 99) },
    peakServerRssMB,
    peakScrapeRssMB,
    peakRssMB,
  };
}
