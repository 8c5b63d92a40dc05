// One OTLP export benchmark run in a fresh process (so peak RSS belongs to this run only):
//   node --expose-gc bench/otlpBenchMain.ts OBJECTS sdk|bridge gzip|none
// Prints one JSON line (OtlpBenchResult). The bridge's cache holds OBJECTS objects with 5 series
// each; exports go over loopback HTTP to a sink in a child process that counts the bytes.
import { fork } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../src/engine/store/SeriesCache.ts';
import { CustomResourceMetricProducer } from '../src/otel/CustomResourceMetricProducer.ts';
import { createOtlpExporter } from '../src/otel/createOtlpExporter.ts';
import type { OtlpMetricExporter } from '../src/otel/OtlpMetricExporter.ts';
import { backupObject, compileText, PATH_CONFIG } from './engineBench.ts';

export interface OtlpBenchResult {
  objects: number;
  points: number;
  exporter: 'sdk' | 'bridge';
  compression: 'gzip' | 'none';
  /** Bytes on the wire per export (request bodies as received), and requests per export. */
  wireBytes: number;
  requests: number;
  /** Median of the measured exports. */
  wallMs: number;
  /** Process CPU (user+system, all threads: gzip runs on libuv's pool) per export. */
  cpuMs: number;
  /** Longest event-loop delay seen during the exports (1 ms resolution histogram). */
  maxLoopDelayMs: number;
  /**
   * Longest stall of the event loop in main-thread CPU time: the most CPU this thread used between
   * two consecutive turns of a 1 ms timer. Unlike maxLoopDelayMs it does not count time the OS
   * gave to other processes, so it is what the stall would be on an idle machine.
   */
  maxLoopStallCpuMs: number;
  /** Longest garbage-collection pause during the exports, and its kind (V8's gc entry `kind`). */
  longestGcPauseMs: number;
  longestGcKind: string;
  /** Longest synchronous encoding stretch the bridge's exporter measured itself. */
  longestSliceMs: number | undefined;
  /** The same stretch in main-thread CPU time (independent of other load on the machine). */
  longestSliceCpuMs: number | undefined;
  /** Main-thread CPU of the whole export (the SDK path's sync stretch is about all of it). */
  threadCpuMs: number;
  rssLoadedMB: number;
  /** Peak RSS of the process over the exports, minus RSS with the cache loaded. */
  peakRssAboveLoadedMB: number;
  /** Memory for the staleness bookkeeping (series blocks remembered). */
  rememberedBlocks: number | undefined;
}

// Five series per object, as in the measurement (500k points at 100k objects).
const FIVE_SERIES = `${PATH_CONFIG}        - name: backup_start_timestamp_seconds
          help: start time
          each: { type: Gauge, gauge: { path: [status, startTime] } }
        - name: backup_attempt_size_bytes
          help: size again
          each: { type: Gauge, gauge: { path: [status, sizeBytes] } }
`;

const SINK = `
const http = require('node:http');
let bytes = 0, requests = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/stats') { res.end(JSON.stringify({ bytes, requests })); bytes = 0; requests = 0; return; }
  req.on('data', (c) => { bytes += c.length; });
  req.on('end', () => { requests++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }); res.end(); });
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

async function main(): Promise<void> {
  const objects = Number(process.argv[2] ?? 100_000);
  const kind = (process.argv[3] ?? 'bridge') as 'sdk' | 'bridge';
  const compression = (process.argv[4] ?? 'none') as 'gzip' | 'none';
  const sink = fork('-e', [SINK], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const sinkPort = await new Promise<number>((resolve) => sink.once('message', (p) => resolve(p as number)));
  const url = `http://127.0.0.1:${sinkPort}/v1/metrics`;
  try {
    const config = compileText(FIVE_SERIES);
    const cache = new SeriesCache(config.families);
    const ingestor = new ObjectIngestor(config, cache, new ObjectErrors());
    for (let i = 0; i < objects; i++) ingestor.upsertNow('bench', `o${i}`, backupObject(i));
    const producer = new CustomResourceMetricProducer(() => cache);
    let exporter: PushMetricExporter;
    if (kind === 'sdk') {
      exporter = new OTLPMetricExporter({
        url,
        compression: compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
        timeoutMillis: 60_000,
      });
    } else {
      exporter = createOtlpExporter({
        protocol: 'http/protobuf',
        url,
        headers: undefined,
        compression,
        timeoutMillis: 60_000,
        temporality: 'cumulative',
        histogram: 'exponential',
        tls: undefined,
        intervalMillis: 3_600_000,
        exportTimeoutMillis: 120_000,
      });
    }
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 3_600_000,
      exportTimeoutMillis: 120_000,
      metricProducers: [producer],
      // The SDK path as the bridge wired it before: batches of 20k points, split after collecting.
      ...(kind === 'sdk' ? { maxExportBatchSize: 20_000 } : {}),
    });
    const provider = new MeterProvider({ readers: [reader] });
    const stats = async () =>
      JSON.parse(await (await fetch(`http://127.0.0.1:${sinkPort}/stats`)).text()) as {
        bytes: number;
        requests: number;
      };

    await reader.forceFlush(); // warm-up
    await stats();
    globalThis.gc?.();
    const rssLoaded = process.memoryUsage().rss;
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const walls: number[] = [];
    const cpus: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 1 });
    let wire = { bytes: 0, requests: 0 };
    let longestSlice = 0;
    let longestSliceCpu = 0;
    const threadCpus: number[] = [];
    let longestGc: PerformanceEntry | undefined;
    const gcs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.duration > (longestGc?.duration ?? 0)) longestGc = e;
    });
    gcs.observe({ entryTypes: ['gc'] });
    let maxStallCpu = 0;
    let lastTickCpu = process.threadCpuUsage();
    const ticker = setInterval(() => {
      const used = process.threadCpuUsage(lastTickCpu);
      maxStallCpu = Math.max(maxStallCpu, (used.user + used.system) / 1000);
      lastTickCpu = process.threadCpuUsage();
    }, 1);
    loop.enable();
    for (let i = 0; i < 3; i++) {
      const cpu = process.cpuUsage();
      const thread = process.threadCpuUsage();
      const t = performance.now();
      await reader.forceFlush();
      walls.push(performance.now() - t);
      const threadUsed = process.threadCpuUsage(thread);
      threadCpus.push((threadUsed.user + threadUsed.system) / 1000);
      const used = process.cpuUsage(cpu);
      cpus.push((used.user + used.system) / 1000);
      wire = await stats();
      const last = (exporter as OtlpMetricExporter).lastExport;
      longestSlice = Math.max(longestSlice, last?.longestSliceMs ?? 0);
      longestSliceCpu = Math.max(longestSliceCpu, last?.longestSliceCpuMs ?? 0);
    }
    loop.disable();
    clearInterval(ticker);
    gcs.disconnect();
    const peak = Math.max(process.resourceUsage().maxRSS * 1024, peakBefore);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const result: OtlpBenchResult = {
      objects,
      points: objects * 5,
      exporter: kind,
      compression,
      wireBytes: wire.bytes,
      requests: wire.requests,
      wallMs: median(walls),
      cpuMs: median(cpus),
      maxLoopDelayMs: loop.max / 1e6,
      maxLoopStallCpuMs: maxStallCpu,
      longestGcPauseMs: longestGc?.duration ?? 0,
      longestGcKind: gcKind((longestGc as { detail?: { kind?: number } } | undefined)?.detail?.kind),
      longestSliceMs: kind === 'bridge' ? longestSlice : undefined,
      longestSliceCpuMs: kind === 'bridge' ? longestSliceCpu : undefined,
      threadCpuMs: median(threadCpus),
      rssLoadedMB: rssLoaded / 2 ** 20,
      peakRssAboveLoadedMB: Math.max(0, peak - rssLoaded) / 2 ** 20,
      rememberedBlocks: kind === 'bridge' ? (exporter as OtlpMetricExporter).rememberedBlocks : undefined,
    };
    await provider.shutdown();
    console.log(JSON.stringify(result));
  } finally {
    sink.kill();
  }
}

function gcKind(kind: number | undefined): string {
  // perf_hooks.constants.NODE_PERFORMANCE_GC_*
  return (
    { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks' }[kind ?? 0] ?? String(kind)
  );
}

await main();
