// Large-scale benchmarks on one real kube-apiserver: sync time, memory, a million series, shards.
// Objects are created once, in ascending stages, and every stage is measured on the same server:
//
//   BENCH_KSM_OBJECTS=10000,100000     bridge and kube-state-metrics side by side, same config
//   BENCH_SHARD_OBJECTS=100000         3 shards next to one unsharded bridge
//   BENCH_MILLION_OBJECTS=200000       5 series per object: scrapes in 3 formats, event-loop
//                                      stalls, OTLP export of every point, --max-old-space-size
//   node --expose-gc bench/scaleBench.ts
//
// Each stage also measures the API server's own read paths over the same objects (the floors), so
// ratios hold on a loaded machine, and records the load average before and after each process.
// KSM comes from KSM_BINARY or ~/.cache/crd-metrics-bridge/bin/kube-state-metrics (build it
// yourself, see docs/benchmarks.md); without it the KSM rows are skipped. BENCH_BRIDGE_ROOT
// measures another checkout's bridge. BENCH_OUT=FILE appends every result as a JSON line.
// Objects are written straight into etcd by default (BENCH_CREATE=api: through the API).
import { fork } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startKubeApiserver } from '../test/harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../test/harness/kubeApiserver.ts';
import { shardOf } from '../src/kube/sharding.ts';
import type { KubeClient } from '../src/kube/KubeClient.ts';
import { rawList, rawWatchList } from './kubeBench.ts';
import { adminClient, createBackups, createBackupsViaEtcd, installBackupCrd } from './kubeObjects.ts';
import {
  FIVE_SERIES_CONFIG,
  FIVE_SERIES_COUNT_PREFIX,
  findKsmBinary,
  measurePeer,
  sampleValue,
  startProber,
  startRssSampler,
  statusKB,
} from './peerProcess.ts';
import type { PeerRun, RunningPeer } from './peerProcess.ts';

const SERIES_PER_OBJECT = 5;

const counts = (name: string, fallback = ''): number[] =>
  (process.env[name] ?? fallback)
    .split(',')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);

const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
const fmt = (x: number | undefined, digits = 0) =>
  x === undefined || Number.isNaN(x)
    ? 'n/a'
    : x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function record(kind: string, value: unknown): void {
  const out = process.env.BENCH_OUT;
  if (out) appendFileSync(out, JSON.stringify({ kind, at: new Date().toISOString(), value }) + '\n');
}

function print(text: string): void {
  process.stdout.write(text + '\n');
}

interface Floors {
  objects: number;
  paginatedMs: number;
  watchCacheMs: number;
  streamingMs: number;
  uids: string[];
  load: number[];
}

/** The API server's read paths over the same objects: paginated (500), watch cache, streaming. */
async function floors(client: KubeClient, expected: number, keepUids: boolean): Promise<Floors> {
  const loadBefore = loadavg();
  // The watch cache follows etcd asynchronously after direct writes: wait until it lists them all.
  for (let tries = 0; ; tries++) {
    const n = await rawList(client, { resourceVersion: '0' });
    if (n === expected) break;
    if (tries > 120) throw new Error(`the watch cache lists ${n} objects, expected ${expected}`);
    await delay(1000);
  }
  const uids: string[] = [];
  let t = performance.now();
  const n = await rawList(
    client,
    { limit: '500' },
    keepUids ? (items) => items.forEach((i) => uids.push(i.metadata.uid)) : undefined,
  );
  const paginatedMs = performance.now() - t;
  if (n !== expected) throw new Error(`paginated list: ${n} objects, expected ${expected}`);
  t = performance.now();
  await rawList(client, { resourceVersion: '0' });
  const watchCacheMs = performance.now() - t;
  t = performance.now();
  const m = await rawWatchList(client);
  const streamingMs = performance.now() - t;
  if (m !== expected) throw new Error(`streaming list: ${m} objects, expected ${expected}`);
  return { objects: expected, paginatedMs, watchCacheMs, streamingMs, uids, load: loadBefore };
}

function printFloors(f: Floors): void {
  print(
    `\nRead paths of the API server over the same ${fmt(f.objects)} objects (load ${load(f.load)}): ` +
      `paginated list (limit=500) ${sec(f.paginatedMs)}, watch-cache list (resourceVersion=0) ${sec(f.watchCacheMs)}, ` +
      `streaming list to the end bookmark ${sec(f.streamingMs)}. Each fetched and JSON-parsed, nothing else.`,
  );
}

function peerOptions(kubeconfig: string, objects: number) {
  return {
    kubeconfig,
    config: FIVE_SERIES_CONFIG,
    countPrefix: FIVE_SERIES_COUNT_PREFIX,
    expectedObjects: objects,
    seriesPerObject: SERIES_PER_OBJECT,
    scrapes: objects <= 20_000 ? 30 : objects <= 100_000 ? 15 : 10,
  };
}

function printSideBySide(f: Floors, runs: PeerRun[]): void {
  const lat = (l: { p50: number; p99: number }) => `${fmt(l.p50)} / ${fmt(l.p99)} ms`;
  print(
    `\n${fmt(f.objects)} objects × ${SERIES_PER_OBJECT} series (bench/backup-5-series.yaml for both). ` +
      `Sync = spawn → first /metrics holding every object's series (in brackets: the last poll that still found series missing, so the sync ended in between); ratio to the bare paginated list of the same run (${sec(f.paginatedMs)}).\n`,
  );
  print(
    '| process | sync (ratio to bare list) | CPU used by sync | bridge /readyz | RSS after sync | peak RSS | scrape p50 / p99, text | CPU per text scrape | scrape p50 / p99, gzip | CPU per gzip scrape | body text / gzip | load before → after |',
  );
  print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of runs)
    print(
      `| ${r.label} | ${sec(r.syncMs)} [${sec(r.syncAfterMs)}] (${(r.syncMs / f.paginatedMs).toFixed(2)}×) | ${sec(r.syncCpuMs)} | ${r.readyzMs === undefined ? '' : sec(r.readyzMs)} | ${fmt(r.rssAfterSyncMB)} MB | ${fmt(r.peakRssMB)} MB | ${lat(r.text)} | ${fmt(r.text.cpuMs)} ms | ${lat(r.gzip)} | ${fmt(r.gzip.cpuMs)} ms | ${fmt(r.text.bytes / 2 ** 20, 1)} / ${fmt(r.gzip.bytes / 2 ** 20, 1)} MiB | ${load(r.load.before)} → ${load(r.load.after)} |`,
    );
  const [bridge, ksm] = [runs.find((r) => r.kind === 'bridge'), runs.find((r) => r.kind === 'ksm')];
  if (bridge && ksm)
    print(
      `\nbridge / KSM: sync ${(bridge.syncMs / ksm.syncMs).toFixed(2)} (CPU ${(bridge.syncCpuMs / ksm.syncCpuMs).toFixed(2)}), RSS after sync ${(bridge.rssAfterSyncMB / ksm.rssAfterSyncMB).toFixed(2)}, ` +
        `text p50 ${(bridge.text.p50 / ksm.text.p50).toFixed(2)} (CPU ${(bridge.text.cpuMs / ksm.text.cpuMs).toFixed(2)}), gzip p50 ${(bridge.gzip.p50 / ksm.gzip.p50).toFixed(2)} (CPU ${(bridge.gzip.cpuMs / ksm.gzip.cpuMs).toFixed(2)}).`,
    );
  // The bridge's /readyz is its sync's exact end (gated on every source's initial list); KSM has no
  // such signal, only the polls, so this ratio gives KSM the earliest time its polls allow.
  if (bridge?.readyzMs !== undefined && ksm)
    print(
      `Conservative sync ratio, bridge /readyz / the earliest KSM's polls allow: ${sec(bridge.readyzMs)} / ${sec(ksm.syncAfterMs)} = ${(bridge.readyzMs / ksm.syncAfterMs).toFixed(2)}.`,
    );
  if (bridge?.heapUsedMB !== undefined)
    print(
      `Bridge V8 heap after sync: ${fmt(bridge.heapUsedMB)} MB used, old space ${fmt(bridge.oldSpaceUsedMB)} MB; largest old space sampled during the scrapes ${fmt(bridge.peakOldSpaceMB)} MB.`,
    );
}

/** One unsharded bridge and 3 shards, each alone, over the same objects. */
async function shardStage(kubeconfig: string, f: Floors, unsharded: PeerRun | undefined): Promise<PeerRun[]> {
  const total = 3;
  const perShard = Array.from(
    { length: total },
    (_, s) => f.uids.filter((u) => shardOf(u, total) === s).length,
  );
  const base = peerOptions(kubeconfig, f.objects);
  const rows: PeerRun[] = [unsharded ?? (await measurePeer({ ...base, kind: 'bridge', label: 'unsharded' }))];
  rows[0]!.label = 'unsharded';
  for (let s = 0; s < total; s++) {
    rows.push(
      await measurePeer({
        ...base,
        kind: 'bridge',
        label: `shard ${s}/${total}`,
        expectedObjects: perShard[s]!,
        extraArgs: [`--shard=${s}`, `--total-shards=${total}`],
      }),
    );
    record('shard', rows.at(-1));
  }
  const b = rows[0]!;
  const r2 = (v: number, w: number) => (v / w).toFixed(2);
  print(
    `\nSharding over ${fmt(f.objects)} objects (each process alone; ratios to the unsharded one of the same run).\n`,
  );
  print(
    '| process | objects | sync | CPU used by sync | RSS after sync | peak RSS | scrape p50, text | CPU per text scrape | load before → after |',
  );
  print('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows)
    print(
      `| ${r.label} | ${fmt(r.objects)} | ${sec(r.syncMs)} (${r2(r.syncMs, b.syncMs)}) | ${sec(r.syncCpuMs)} (${r2(r.syncCpuMs, b.syncCpuMs)}) | ${fmt(r.rssAfterSyncMB)} MB (${r2(r.rssAfterSyncMB, b.rssAfterSyncMB)}) | ${fmt(r.peakRssMB)} MB (${r2(r.peakRssMB, b.peakRssMB)}) | ${fmt(r.text.p50)} ms (${r2(r.text.p50, b.text.p50)}) | ${fmt(r.text.cpuMs)} ms (${r2(r.text.cpuMs, b.text.cpuMs)}) | ${load(r.load.before)} → ${load(r.load.after)} |`,
    );
  return rows;
}

/** A byte-counting OTLP sink in its own process; it remembers when each request ended. */
const SINK = `
const http = require('node:http');
let log = [];
const server = http.createServer((req, res) => {
  let bytes = 0; const start = Date.now();
  req.on('data', (c) => { bytes += c.length; });
  req.on('end', () => { log.push({ start, end: Date.now(), bytes }); res.writeHead(200, { 'content-type': 'application/x-protobuf' }); res.end(); });
});
process.on('message', () => { process.send(log); log = []; });
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

interface Sink {
  port: number;
  take(): Promise<{ start: number; end: number; bytes: number }[]>;
  stop(): void;
}

async function startSink(): Promise<Sink> {
  const child = fork('-e', [SINK], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
  return {
    port,
    take: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { start: number; end: number; bytes: number }[]));
        child.send('take');
      }),
    stop: () => child.kill(),
  };
}

interface ExportRun {
  compression: string;
  nodeFlags: string[];
  syncMs: number;
  rssLoadedMB: number;
  rssPeakAboveLoadedMB: number;
  exportMs: number;
  wireMiB: number;
  requests: number;
  stallMs: number;
  probeMaxMs: number;
  survivedScrapes: boolean;
  peakRssMB: number;
  load: { before: number[]; after: number[] };
}

/** Waits for one whole export (a burst of requests followed by `quietMs` without any). */
async function nextExport(sink: Sink, quietMs: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const seen: { start: number; end: number; bytes: number }[] = [];
  for (;;) {
    seen.push(...(await sink.take()));
    if (seen.length && Date.now() - seen.at(-1)!.end > quietMs) return seen;
    if (Date.now() > deadline) throw new Error('no OTLP export within the timeout');
    await delay(200);
  }
}

async function exportStage(
  kubeconfig: string,
  objects: number,
  compression: 'gzip' | 'none',
  nodeFlags: string[],
): Promise<ExportRun> {
  const sink = await startSink();
  const interval = 30_000;
  let result: Omit<ExportRun, 'syncMs' | 'peakRssMB' | 'load'> | undefined;
  try {
    const run = await measurePeer({
      ...peerOptions(kubeconfig, objects),
      kind: 'bridge',
      label: `otlp ${compression}`,
      nodeFlags,
      skipScrapes: true,
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_COMPRESSION: compression,
        OTEL_METRIC_EXPORT_INTERVAL: String(interval),
        OTEL_METRIC_EXPORT_TIMEOUT: String(interval),
      },
      whileLoaded: async (peer: RunningPeer) => {
        const pid = peer.child.pid!;
        // The first export after sync may have started during it: wait for one whole export that
        // carries every point, then measure the next.
        await sink.take();
        await nextExport(sink, 3000, 3 * interval);
        const rssLoadedMB = statusKB(pid, 'VmRSS') / 1024;
        await fetch(`${peer.telemetryUrl}/metrics`).then((r) => r.text()); // resets the lag monitor
        const prober = startProber(`${peer.url}/healthz`);
        const rss = startRssSampler(pid);
        const requests = await nextExport(sink, 3000, 3 * interval);
        const peakMB = rss.stop();
        const lag = sampleValue(
          await fetch(`${peer.telemetryUrl}/metrics`).then((r) => r.text()),
          'nodejs_eventloop_lag_max_seconds',
        );
        const probe = await prober.stop();
        // The heap limit must also hold a scrape on top of the loaded state.
        let survivedScrapes = true;
        for (const gzip of [false, true])
          await fetch(`${peer.url}/metrics`, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} })
            .then((r) => r.arrayBuffer())
            .catch(() => (survivedScrapes = false));
        if (peer.child.exitCode !== null) survivedScrapes = false;
        result = {
          compression,
          nodeFlags,
          rssLoadedMB,
          rssPeakAboveLoadedMB: Math.max(0, peakMB - rssLoadedMB),
          exportMs: requests.at(-1)!.end - requests[0]!.start,
          wireMiB: requests.reduce((s, r) => s + r.bytes, 0) / 2 ** 20,
          requests: requests.length,
          stallMs: (lag ?? NaN) * 1000,
          probeMaxMs: probe.max,
          survivedScrapes,
        };
      },
    });
    return { ...result!, syncMs: run.syncMs, peakRssMB: run.peakRssMB, load: run.load };
  } finally {
    sink.stop();
  }
}

/** Old-space limit for N series: 1.5 × the largest old space seen, rounded up to 64 MB (docs/kubernetes.md). */
function recommendOldSpace(peakOldSpaceMB: number): number {
  return Math.ceil((1.5 * peakOldSpaceMB) / 64) * 64;
}

export async function benchScale(): Promise<void> {
  const ksmCounts = counts('BENCH_KSM_OBJECTS');
  const shardCounts = counts('BENCH_SHARD_OBJECTS');
  const millionCounts = counts('BENCH_MILLION_OBJECTS');
  const stages = [...new Set([...ksmCounts, ...shardCounts, ...millionCounts])].sort((a, b) => a - b);
  if (!stages.length) return;
  const ksm = findKsmBinary();
  if (ksmCounts.length && !ksm)
    print('\nkube-state-metrics rows skipped: no binary (set KSM_BINARY, see docs/benchmarks.md).');
  const via = process.env.BENCH_CREATE === 'api' ? 'api' : 'etcd';
  // A single-response list of 200k objects outlasts the API server's default 60 s cap on a loaded
  // machine; the cap would cut the watch-cache floor, not anything the exporters do.
  const api: KubeApiserverHandle = await startKubeApiserver({ extraArgs: ['--request-timeout=10m'] });
  const dir = mkdtempSync(path.join(tmpdir(), 'scale-bench-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, readFileSync(api.adminKubeconfigPath, 'utf8'));
  const client = adminClient(api);
  try {
    await installBackupCrd(api);
    let have = 0;
    const oldSpace: { series: number; peakOldSpaceMB: number; oldSpaceMB: number }[] = [];
    for (const objects of stages) {
      const loadBefore = loadavg();
      const created =
        via === 'etcd'
          ? await createBackupsViaEtcd(api, client, have, objects)
          : await createBackups(client, have, objects, { inFlight: 64 });
      have = objects;
      print(
        `\n### ${fmt(objects)} objects\n\nCreated ${fmt(created.created)} more (${via}) in ${sec(created.ms)}, ${fmt(created.objectsPerSecond)} objects/s (load ${load(loadBefore)}).`,
      );
      record('create', { objects, via, ...created });
      const f = await floors(client, objects, shardCounts.includes(objects));
      printFloors(f);
      record('floors', { ...f, uids: undefined });
      const base = peerOptions(kubeconfig, objects);
      let bridgeRun: PeerRun | undefined;
      if (ksmCounts.includes(objects)) {
        const runs: PeerRun[] = [];
        bridgeRun = await measurePeer({ ...base, kind: 'bridge' });
        runs.push(bridgeRun);
        record('peer', bridgeRun);
        if (ksm) {
          runs.push(await measurePeer({ ...base, kind: 'ksm', label: 'kube-state-metrics' }));
          record('peer', runs.at(-1));
        }
        printSideBySide(f, runs);
        oldSpace.push({
          series: objects * SERIES_PER_OBJECT,
          peakOldSpaceMB: bridgeRun.peakOldSpaceMB!,
          oldSpaceMB: bridgeRun.oldSpaceUsedMB!,
        });
      }
      if (shardCounts.includes(objects)) await shardStage(kubeconfig, f, bridgeRun);
      if (millionCounts.includes(objects)) {
        const big = await measurePeer({
          ...base,
          kind: 'bridge',
          label: 'bridge',
          openmetrics: true,
          stalls: true,
        });
        record('million', big);
        oldSpace.push({
          series: objects * SERIES_PER_OBJECT,
          peakOldSpaceMB: big.peakOldSpaceMB!,
          oldSpaceMB: big.oldSpaceUsedMB!,
        });
        const lat = (l?: { p50: number; p99: number; bytes: number; cpuMs: number }) =>
          l
            ? `${fmt(l.p50)} / ${fmt(l.p99)} ms (${fmt(l.bytes / 2 ** 20, 1)} MiB; ${fmt(l.cpuMs)} ms CPU per scrape)`
            : 'n/a';
        print(
          `\n${fmt(objects)} objects × ${SERIES_PER_OBJECT} = ${fmt(objects * SERIES_PER_OBJECT)} series, bridge with Node's default heap limit (load ${load(big.load.before)} → ${load(big.load.after)}).\n`,
        );
        print('| | value |');
        print('|---|---:|');
        print(
          `| sync, spawn → every series served | ${sec(big.syncMs)} (${(big.syncMs / f.paginatedMs).toFixed(2)}× the bare paginated list, ${(big.syncMs / f.streamingMs).toFixed(2)}× the bare streaming list) |`,
        );
        print(`| CPU used by the process until synced | ${sec(big.syncCpuMs)} |`);
        print(`| /readyz 200 | ${sec(big.readyzMs ?? NaN)} |`);
        print(`| scrape p50 / p99, text | ${lat(big.text)} |`);
        print(`| scrape p50 / p99, OpenMetrics | ${lat(big.openmetrics)} |`);
        print(`| scrape p50 / p99, gzip | ${lat(big.gzip)} |`);
        print(
          `| longest event-loop stall during the scrapes (own monitor / /healthz prober) | ${fmt(big.scrapeStallMs)} / ${fmt(big.scrapeProbeMaxMs)} ms |`,
        );
        print(
          `| RSS after sync / peak during scrapes / peak (VmHWM) | ${fmt(big.rssAfterSyncMB)} / ${fmt(big.scrapeRssPeakMB)} / ${fmt(big.peakRssMB)} MB |`,
        );
        print(
          `| V8 heap used after sync / old space after sync / largest old space during scrapes | ${fmt(big.heapUsedMB)} / ${fmt(big.oldSpaceUsedMB)} / ${fmt(big.peakOldSpaceMB)} MB |`,
        );
        const limit = Number(process.env.BENCH_MAX_OLD_SPACE ?? recommendOldSpace(big.peakOldSpaceMB!));
        const flags = ['--max-semi-space-size=8', `--max-old-space-size=${limit}`];
        print(
          `\nOTLP export of every point to a byte-counting sink, bridge run with ${flags.join(' ')}; the export after the first complete one is measured.\n`,
        );
        print(
          '| compression | sync | RSS loaded | RSS above loaded during the export | export (first request → last answer) | on the wire | requests | longest stall (own monitor / /healthz prober) | scrapes after, within the limit | peak RSS | load before → after |',
        );
        print('|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|');
        for (const compression of (process.env.BENCH_OTLP_COMPRESSION ?? 'gzip,none').split(',') as (
          'gzip' | 'none'
        )[]) {
          const e = await exportStage(kubeconfig, objects, compression, flags);
          record('export', e);
          print(
            `| ${e.compression} | ${sec(e.syncMs)} | ${fmt(e.rssLoadedMB)} MB | ${fmt(e.rssPeakAboveLoadedMB)} MB | ${sec(e.exportMs)} | ${fmt(e.wireMiB, 1)} MiB | ${e.requests} | ${fmt(e.stallMs)} / ${fmt(e.probeMaxMs)} ms | ${e.survivedScrapes ? 'yes' : 'NO'} | ${fmt(e.peakRssMB)} MB | ${load(e.load.before)} → ${load(e.load.after)} |`,
          );
        }
      }
    }
    if (oldSpace.length) {
      print(
        '\nV8 old space of the bridge by series count (heap-limit guidance: 1.5 × the largest, rounded up to 64 MB):\n',
      );
      print(
        '| series | old space after sync | largest during scrapes | MB per 100k series (largest) | suggested --max-old-space-size |',
      );
      print('|---:|---:|---:|---:|---:|');
      for (const o of oldSpace)
        print(
          `| ${fmt(o.series)} | ${fmt(o.oldSpaceMB)} MB | ${fmt(o.peakOldSpaceMB)} MB | ${fmt((o.peakOldSpaceMB / o.series) * 1e5, 1)} | ${recommendOldSpace(o.peakOldSpaceMB)} |`,
        );
      if (oldSpace.length >= 2) {
        // Least squares: old space = base + slope × series.
        const n = oldSpace.length;
        const mx = oldSpace.reduce((s, o) => s + o.series, 0) / n;
        const my = oldSpace.reduce((s, o) => s + o.peakOldSpaceMB, 0) / n;
        const slope =
          oldSpace.reduce((s, o) => s + (o.series - mx) * (o.peakOldSpaceMB - my), 0) /
          oldSpace.reduce((s, o) => s + (o.series - mx) ** 2, 0);
        const base = my - slope * mx;
        print(`\nFit: largest old space ≈ ${fmt(base)} MB + ${fmt(slope * 1e5, 1)} MB per 100k series.`);
        record('oldSpaceFit', { baseMB: base, mbPer100kSeries: slope * 1e5 });
      }
      record('oldSpace', oldSpace);
    }
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
    await api.stop();
  }
}

if (import.meta.main) await benchScale();
