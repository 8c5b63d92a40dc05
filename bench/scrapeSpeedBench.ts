// Scrape speed at scale on one real kube-apiserver: the bridge next to kube-state-metrics and a
// static Node server holding the same bodies in memory (the floor), in text 0.0.4, OpenMetrics and
// gzip; then the bridge under churn (objects updated at a steady rate straight in etcd, the API
// server's watch delivering them): CPU per update, scrape latency and RSS.
//
//   BENCH_SCRAPE_OBJECTS=100000   objects (5 series each, bench/backup-5-series.yaml)
//   BENCH_BASELINE_ROOT=DIR       also measure the bridge of another checkout (its dist/ built): A/B
//   BENCH_AA=1                    measure this bridge twice (A/A: the noise of the machine)
//   BENCH_CHURN_RATE=1000         updates per second during the churn stage; 0 skips it
//   BENCH_CHURN_SECONDS=20        length of each churn window
//   BENCH_SCRAPES=10              scrapes per format
//   BENCH_SKIP_KSM=1              leave kube-state-metrics out
//   node --expose-gc bench/scrapeSpeedBench.ts      (or BENCH_ONLY=scrape npm run bench)
//
// KSM comes from KSM_BINARY or ~/.cache/crd-metrics-bridge/bin/kube-state-metrics (see
// docs/benchmarks.md); without it its rows are skipped.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startKubeApiserver } from '../test/harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../test/harness/kubeApiserver.ts';
import { rawList } from './kubeBench.ts';
import { adminClient, backupManifest, createBackupsViaEtcd, installBackupCrd } from './kubeObjects.ts';
import {
  cpuMs,
  FIVE_SERIES_CONFIG,
  FIVE_SERIES_COUNT_PREFIX,
  findKsmBinary,
  getText,
  measurePeer,
  percentile,
  sampleValue,
  scrape,
  statusKB,
} from './peerProcess.ts';
import type { Latency, PeerRun, RunningPeer } from './peerProcess.ts';

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0';
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const fmt = (x: number | undefined, digits = 0) =>
  x === undefined || Number.isNaN(x)
    ? 'n/a'
    : x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
const print = (text: string) => process.stdout.write(text + '\n');

/**
 * p50/p99 and CPU per scrape of `n` sequential scrapes of one format, `pauseMs` apart, or
 * starting every `periodMs` (a scraper's fixed interval, as Prometheus keeps it) when given.
 */
async function latencies(
  pid: number,
  url: string,
  n: number,
  opts: { accept?: string; gzip?: boolean },
  pauseMs = 0,
  periodMs = 0,
): Promise<Latency> {
  const times: number[] = [];
  let bytes = 0;
  const before = cpuMs(pid);
  for (let i = 0; i < n; i++) {
    const r = await scrape(url, opts);
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    if (opts.gzip && r.contentEncoding !== 'gzip') throw new Error(`${url}: no gzip`);
    times.push(r.ms);
    bytes = r.bytes;
    if (periodMs > 0) await delay(Math.max(0, periodMs - r.ms));
    else if (pauseMs > 0) await delay(pauseMs);
  }
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    samples: n,
    times,
    bytes,
    cpuMs: (cpuMs(pid) - before) / n,
  };
}

/** A static server in its own process: the bodies in memory, gzip compressed once at start. */
const STATIC_SERVER = `
const http = require('node:http');
const { readFileSync } = require('node:fs');
const { gzipSync } = require('node:zlib');
const [textFile, omFile] = process.argv.slice(1);
const text = readFileSync(textFile), om = readFileSync(omFile);
const bodies = { text, om, textGz: gzipSync(text), omGz: gzipSync(om) };
const server = http.createServer((req, res) => {
  const isOm = (req.headers.accept || '').includes('openmetrics');
  const gz = (req.headers['accept-encoding'] || '').includes('gzip');
  const body = isOm ? (gz ? bodies.omGz : bodies.om) : gz ? bodies.textGz : bodies.text;
  const headers = { 'content-type': isOm ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length };
  if (gz) headers['content-encoding'] = 'gzip';
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, gzipBytes: bodies.textGz.length }));
`;

interface StaticRun {
  text: Latency;
  openmetrics: Latency;
  gzip: Latency;
  rssMB: number;
  gzipBytes: number;
  /** The same scrapes as the bridge's churn stage, while the same churn loads etcd and the API server. */
  underChurn?: { text: Latency; gzip: Latency };
}

async function measureStatic(
  textFile: string,
  omFile: string,
  scrapes: number,
  churn?: { churner: Churner; rate: number },
): Promise<StaticRun> {
  const child = fork('-e', [STATIC_SERVER, textFile, omFile], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port, gzipBytes } = await new Promise<{ port: number; gzipBytes: number }>((resolve) =>
      child.once('message', (m) => resolve(m as { port: number; gzipBytes: number })),
    );
    const url = `http://127.0.0.1:${port}/metrics`;
    const pid = child.pid!;
    for (let i = 0; i < 2; i++) await scrape(url, {});
    const run: StaticRun = {
      text: await latencies(pid, url, scrapes, {}),
      gzip: await latencies(pid, url, scrapes, { gzip: true }),
      openmetrics: await latencies(pid, url, scrapes, { accept: OPENMETRICS }),
      rssMB: statusKB(pid, 'VmRSS') / 1024,
      gzipBytes,
    };
    if (churn && churn.rate > 0) {
      // The floor on the machine as loaded during the bridge's churn stage (etcd and the API
      // server taking the updates), minus the bridge's own work.
      churn.churner.start(churn.rate);
      try {
        await delay(3000);
        run.underChurn = {
          text: await latencies(pid, url, 8, {}, 1000),
          gzip: await latencies(pid, url, 10, { gzip: true }, 0, 2000),
        };
      } finally {
        await churn.churner.stop();
      }
    }
    return run;
  } finally {
    child.kill();
  }
}

/** Updates objects straight in etcd at `rate` per second, in transactions every 100 ms. */
class Churner {
  updates = 0;
  private _stop = false;
  private _running: Promise<void> | undefined;
  private readonly _api: KubeApiserverHandle;
  private readonly _uids: string[];
  private readonly _template: Record<string, unknown>;
  private _tick = 0;

  constructor(api: KubeApiserverHandle, uids: string[], template: Record<string, unknown>) {
    this._api = api;
    this._uids = uids;
    this._template = template;
  }

  start(rate: number): void {
    this._stop = false;
    const perTick = Math.max(1, Math.round(rate / 10));
    this._running = (async () => {
      let next = performance.now();
      while (!this._stop) {
        this._tick++;
        const success = [];
        // Distinct objects per transaction: etcd refuses a key twice in one.
        const picked = new Set<number>();
        while (picked.size < Math.min(perTick, this._uids.length))
          picked.add(Math.floor(Math.random() * this._uids.length));
        for (const i of picked) {
          const manifest = backupManifest(i);
          const status = { ...(manifest.status as object), sizeBytes: 2 ** 20 + i + this._tick };
          const object = {
            ...this._template,
            metadata: { ...(this._template.metadata as object), name: `b-${i}`, uid: this._uids[i] },
            spec: manifest.spec,
            status,
          };
          success.push({
            requestPut: {
              key: Buffer.from(`/registry/backup.example.com/backups/default/b-${i}`).toString('base64'),
              value: Buffer.from(JSON.stringify(object)).toString('base64'),
            },
          });
        }
        const res = await fetch(`${this._api.etcdUrl}/v3/kv/txn`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ success }),
        });
        await res.text();
        if (!res.ok) throw new Error(`etcd txn: ${res.status}`);
        this.updates += perTick;
        next += 100;
        await delay(Math.max(0, next - performance.now()));
      }
    })();
  }

  async stop(): Promise<void> {
    this._stop = true;
    await this._running;
  }
}

interface ChurnRun {
  rate: number;
  /** Bridge CPU per update with no scrapes (events, encoding, background compression), µs. */
  cpuPerUpdateUs: number;
  /** The same, with a gzip scrape every `scrapeEveryMs` meanwhile, µs. */
  cpuPerUpdateScrapedUs: number;
  scrapeEveryMs: number;
  /** The gzip scrapes of that window (every `scrapeEveryMs`, start to start). */
  gzipEvery: Latency;
  /** Gzip scrapes answered with a state prepared ahead, of all, per window (undefined: not counted by this build). */
  prepared: { every5s?: string; every2s?: string };
  text: Latency;
  /** Gzip scrapes starting every 2 s. */
  gzip: Latency;
  rssBeforeMB: number;
  rssAfterMB: number;
  load: number[];
}

async function churnStage(
  peer: RunningPeer,
  churner: Churner,
  rate: number,
  seconds: number,
): Promise<ChurnRun> {
  const pid = peer.child.pid!;
  const url = `${peer.url}/metrics`;
  const rssBeforeMB = statusKB(pid, 'VmRSS') / 1024;
  churner.start(rate);
  await delay(3000); // the watch and the bridge reach the steady rate
  // Window 1: no scrapes.
  let u0 = churner.updates;
  let c0 = cpuMs(pid);
  await delay(seconds * 1000);
  const cpuPerUpdateUs = ((cpuMs(pid) - c0) / (churner.updates - u0)) * 1000;
  // Gzip scrapes by the state they got (crd_metrics_bridge_gzip_scrapes_total), counted per window.
  const states = async () => {
    const t = await getText(`${peer.telemetryUrl}/metrics`).catch(() => '');
    const prepared = sampleValue(t, 'crd_metrics_bridge_gzip_scrapes_total{state="prepared"}');
    const current = sampleValue(t, 'crd_metrics_bridge_gzip_scrapes_total{state="current"}');
    return prepared === undefined || current === undefined ? undefined : { prepared, current };
  };
  const share = (a?: { prepared: number; current: number }, b?: { prepared: number; current: number }) =>
    a && b ? `${b.prepared - a.prepared} / ${b.prepared + b.current - a.prepared - a.current}` : undefined;
  // Window 2: a gzip scrape every few seconds, as an HA pair of Prometheus servers would.
  const scrapeEveryMs = 5000;
  const states0 = await states();
  u0 = churner.updates;
  c0 = cpuMs(pid);
  const gzipTimes: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const r = await scrape(url, { gzip: true });
    gzipTimes.push(r.ms);
    await delay(Math.max(0, scrapeEveryMs - r.ms));
  }
  const cpuPerUpdateScrapedUs = ((cpuMs(pid) - c0) / (churner.updates - u0)) * 1000;
  const states1 = await states();
  const gzipEvery: Latency = {
    p50: percentile(gzipTimes, 50),
    p99: percentile(gzipTimes, 99),
    samples: gzipTimes.length,
    times: gzipTimes,
    bytes: 0,
    cpuMs: 0,
  };
  // Window 3: text scrapes with 1 s pauses, then gzip scrapes every 2 s.
  const text = await latencies(pid, url, 8, {}, 1000);
  const states2 = await states();
  const gzip = await latencies(pid, url, 10, { gzip: true }, 0, 2000);
  const prepared = { every5s: share(states0, states1), every2s: share(states2, await states()) };
  await churner.stop();
  return {
    rate,
    cpuPerUpdateUs,
    cpuPerUpdateScrapedUs,
    scrapeEveryMs,
    gzipEvery,
    prepared,
    text,
    gzip,
    rssBeforeMB,
    rssAfterMB: statusKB(pid, 'VmRSS') / 1024,
    load: loadavg(),
  };
}

export async function benchScrapeSpeed(): Promise<void> {
  const objects = env('BENCH_SCRAPE_OBJECTS', 100_000);
  const scrapes = env('BENCH_SCRAPES', 10);
  const rate = env('BENCH_CHURN_RATE', 1000);
  const seconds = env('BENCH_CHURN_SECONDS', 20);
  const baseline = process.env.BENCH_BASELINE_ROOT;
  const api = await startKubeApiserver({ extraArgs: ['--request-timeout=10m'] });
  const dir = mkdtempSync(path.join(tmpdir(), 'scrape-bench-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const { readFileSync } = await import('node:fs');
  writeFileSync(kubeconfig, readFileSync(api.adminKubeconfigPath, 'utf8'));
  const client = adminClient(api);
  try {
    await installBackupCrd(api);
    const created = await createBackupsViaEtcd(api, client, 0, objects);
    print(
      `\n### Scrape speed: ${fmt(objects)} objects × 5 series\n\nCreated in ${(created.ms / 1000).toFixed(1)} s (etcd). Machine: 2 cores shared with other work (load ${load(loadavg())}).`,
    );
    // Names → uids, and the stored shape, for updates that keep each object's identity.
    const uids: string[] = new Array<string>(objects);
    let template: Record<string, unknown> | undefined;
    const keep = (items: unknown[]) => {
      for (const item of items as { metadata: { name: string; uid: string; resourceVersion?: string } }[]) {
        uids[Number(item.metadata.name.slice(2))] = item.metadata.uid;
        if (!template) {
          // Stored objects carry no resourceVersion (the API server sets it from etcd's revision).
          const metadata: Record<string, unknown> = { ...item.metadata };
          delete metadata.resourceVersion;
          template = { ...(item as unknown as Record<string, unknown>), metadata };
        }
      }
    };
    // From the watch cache, which follows etcd asynchronously after direct writes: until it lists all.
    for (let tries = 0; (await rawList(client, { resourceVersion: '0' }, keep)) !== objects; tries++) {
      if (tries > 120) throw new Error(`the watch cache does not list ${objects} objects`);
      await delay(1000);
    }
    const churner = new Churner(api, uids, template!);
    const base = {
      kubeconfig,
      config: FIVE_SERIES_CONFIG,
      countPrefix: FIVE_SERIES_COUNT_PREFIX,
      expectedObjects: objects,
      seriesPerObject: 5,
      scrapes,
      openmetrics: true,
    };
    const textFile = path.join(dir, 'body.txt');
    const omFile = path.join(dir, 'body.om');
    const churns = new Map<string, ChurnRun>();
    const bridge = (label: string, root?: string, keepBodies = false) =>
      measurePeer({
        ...base,
        kind: 'bridge',
        label,
        ...(root ? { env: { BENCH_BRIDGE_ROOT: root } } : {}),
        whileLoaded: async (peer) => {
          if (keepBodies) {
            const url = `${peer.url}/metrics`;
            writeFileSync(textFile, Buffer.from(await (await fetch(url)).arrayBuffer()));
            writeFileSync(
              omFile,
              Buffer.from(await (await fetch(url, { headers: { accept: OPENMETRICS } })).arrayBuffer()),
            );
          }
          if (rate > 0) churns.set(label, await churnStage(peer, churner, rate, seconds));
        },
      });
    const runs: PeerRun[] = [await bridge('bridge', undefined, true)];
    if (process.env.BENCH_AA === '1') runs.push(await bridge('bridge (again, A/A)'));
    if (baseline) runs.push(await bridge('bridge before (A/B)', baseline));
    if (findKsmBinary() && process.env.BENCH_SKIP_KSM !== '1')
      runs.push(await measurePeer({ ...base, kind: 'ksm', label: 'kube-state-metrics' }));
    const floor = await measureStatic(textFile, omFile, scrapes, { churner, rate });

    const lat = (l?: Latency) => (l ? `${fmt(l.p50, 1)} / ${fmt(l.p99, 1)} ms` : 'n/a');
    print(
      `\nScrape latency p50 / p99 (${scrapes} sequential scrapes each, whole body read by a client in the bench process; CPU = the process's CPU per scrape).\n`,
    );
    print(
      '| process | sync | RSS after sync | text | OpenMetrics | gzip | CPU per scrape text / OM / gzip | body text / gzip | load before → after |',
    );
    print('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const r of runs)
      print(
        `| ${r.label} | ${(r.syncMs / 1000).toFixed(1)} s | ${fmt(r.rssAfterSyncMB)} MB | ${lat(r.text)} | ${lat(r.openmetrics)} | ${lat(r.gzip)} | ${fmt(r.text.cpuMs)} / ${fmt(r.openmetrics?.cpuMs)} / ${fmt(r.gzip.cpuMs)} ms | ${fmt(r.text.bytes / 2 ** 20, 1)} / ${fmt(r.gzip.bytes / 2 ** 20, 1)} MiB | ${load(r.load.before)} → ${load(r.load.after)} |`,
      );
    print(
      `| static server (same bodies in memory; gzip compressed once ahead) | | ${fmt(floor.rssMB)} MB | ${lat(floor.text)} | ${lat(floor.openmetrics)} | ${lat(floor.gzip)} | ${fmt(floor.text.cpuMs)} / ${fmt(floor.openmetrics.cpuMs)} / ${fmt(floor.gzip.cpuMs)} ms | ${fmt(floor.text.bytes / 2 ** 20, 1)} / ${fmt(floor.gzipBytes / 2 ** 20, 1)} MiB | |`,
    );
    const me = runs[0]!;
    const ksm = runs.find((r) => r.kind === 'ksm');
    const ratio = (a: number, b: number | undefined) => (b === undefined ? 'n/a' : (a / b).toFixed(2));
    print('\n| p50 ratio | bridge / KSM | bridge / static server | target |');
    print('|---|---:|---:|---|');
    print(
      `| text | ${ratio(me.text.p50, ksm?.text.p50)} | ${ratio(me.text.p50, floor.text.p50)} | ≤ 0.5 / ≤ 1.5 |`,
    );
    print(
      `| OpenMetrics | ${ratio(me.openmetrics!.p50, ksm?.openmetrics?.p50)} | ${ratio(me.openmetrics!.p50, floor.openmetrics.p50)} | ≤ 0.5 / ≤ 1.5 |`,
    );
    print(
      `| gzip | ${ratio(me.gzip.p50, ksm?.gzip.p50)} | ${ratio(me.gzip.p50, floor.gzip.p50)} | ≤ 0.1 / ≤ 3 |`,
    );
    const each = (l: Latency | undefined) => (l?.times ?? []).map((t) => fmt(t, 0)).join(', ');
    print('\nEach gzip scrape without churn, in order, ms (back to back, right after the text scrapes):');
    for (const run of runs) print(`- ${run.label}: ${each(run.gzip)}`);
    print(`- static server: ${each(floor.gzip)}`);
    print(
      `\ngzip body: bridge ${fmt(me.gzip.bytes)} bytes, one gzip stream over the same text ${fmt(floor.gzipBytes)} bytes (${ratio(me.gzip.bytes, floor.gzipBytes)}×).`,
    );
    if (churns.size > 0) {
      print(
        `\nUnder churn: ${fmt(rate)} updates/s of random objects (written in etcd, delivered by the API server's watch; etcd and the API server share the 2 cores), ${seconds} s windows.\n`,
      );
      print(
        '| process | CPU per update, no scrapes | CPU per update, gzip scrape every 5 s | gzip every 5 s p50 / p99 | text (1 s pauses) p50 / p99 | gzip every 2 s p50 / p99 | gzip scrapes answered prepared, every 5 s / every 2 s | RSS before → after churn | load after |',
      );
      print('|---|---:|---:|---:|---:|---:|---:|---:|---|');
      for (const [label, c] of churns)
        print(
          `| ${label} | ${fmt(c.cpuPerUpdateUs)} µs | ${fmt(c.cpuPerUpdateScrapedUs)} µs | ${lat(c.gzipEvery)} | ${lat(c.text)} | ${lat(c.gzip)} | ${c.prepared.every5s ?? 'n/a'}, ${c.prepared.every2s ?? 'n/a'} | ${fmt(c.rssBeforeMB)} → ${fmt(c.rssAfterMB)} MB | ${load(c.load)} |`,
        );
      const under = floor.underChurn;
      if (under)
        print(
          `| static server, same churn on etcd and the API server | | | | ${lat(under.text)} | ${lat(under.gzip)} | | | |`,
        );
      const inOrder = (l: Latency) => (l.times ?? []).map((t) => fmt(t, 0)).join(', ');
      print('\nEach gzip scrape under churn, in order, ms (a scraper is foreseen from its third scrape on):');
      for (const [label, c] of churns)
        print(`- ${label}: every 5 s: ${inOrder(c.gzipEvery)}; every 2 s: ${inOrder(c.gzip)}`);
      const mine = churns.get(me.label);
      if (mine) {
        print(
          '\n| p50 under churn | bridge / KSM (no churn) | bridge / static server (no churn) | bridge / static server (same churn) | target |',
        );
        print('|---|---:|---:|---:|---|');
        print(
          `| text | ${ratio(mine.text.p50, ksm?.text.p50)} | ${ratio(mine.text.p50, floor.text.p50)} | ${ratio(mine.text.p50, under?.text.p50)} | ≤ 0.5 / ≤ 1.5 |`,
        );
        for (const [name, l] of [
          ['gzip every 5 s', mine.gzipEvery],
          ['gzip every 2 s', mine.gzip],
        ] as const)
          print(
            `| ${name} | ${ratio(l.p50, ksm?.gzip.p50)} | ${ratio(l.p50, floor.gzip.p50)} | ${ratio(l.p50, under?.gzip.p50)} | ≤ 0.1 / ≤ 3 |`,
          );
      }
    }
    if (process.env.BENCH_OUT)
      writeFileSync(process.env.BENCH_OUT, JSON.stringify({ runs, floor, churns: [...churns] }, null, 1));
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
    await api.stop();
  }
}

if (import.meta.main) await benchScrapeSpeed();
