// One exporter process (the bridge's CLI or kube-state-metrics) measured against a real
// kube-apiserver, with the same definitions for both, so their figures can stand side by side:
// - initial sync: from spawn to the start of the first /metrics request whose answer holds the
//   series of every object (one line of the count family per object); polls are spaced by twice
//   the last poll's duration (at least 200 ms), so they take at most a third of the time;
// - RSS after sync: VmRSS after three full scrapes and 2 s of rest (steady);
// - scrape latency: full bodies read by a client in this process, in text 0.0.4, gzip and
//   (optionally) OpenMetrics; p50 and p99 (with few samples p99 is the maximum);
// - peak RSS: VmHWM at the end;
// - optionally the longest event-loop stall during the scrapes: the bridge's own
//   `nodejs_eventloop_lag_max_seconds` (prom-client, reset at each telemetry scrape) and the
//   longest /healthz answer seen by a prober in a separate process.
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { homedir, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from '../test/harness/binaries.ts';
import { freePort } from '../test/harness/ports.ts';

export type PeerKind = 'bridge' | 'ksm';

/** The kube-state-metrics binary: `KSM_BINARY`, else ~/.cache/crd-metrics-bridge/bin; undefined if absent. */
export function findKsmBinary(): string | undefined {
  const candidates = [
    process.env.KSM_BINARY,
    path.join(
      process.env.CRD_BRIDGE_CACHE || path.join(homedir(), '.cache', 'crd-metrics-bridge'),
      'bin',
      'kube-state-metrics',
    ),
  ];
  return candidates.find((c): c is string => Boolean(c) && existsSync(c!));
}

/** The checkout whose bridge is measured (`BENCH_BRIDGE_ROOT`, default this one). */
export const bridgeRoot = process.env.BENCH_BRIDGE_ROOT ?? repoRoot;

/**
 * The script a benchmark spawns to run the bridge: its dist/ bundle (what the npm package and the
 * image run, bench/runDist.js), or with `BENCH_BRIDGE_FROM=src` the TypeScript sources through
 * bin/ (what a checkout runs).
 */
export const bridgeEntry =
  process.env.BENCH_BRIDGE_FROM === 'src'
    ? path.join(bridgeRoot, 'bin/crd-metrics-bridge.js')
    : path.join(repoRoot, 'bench/runDist.js');

export interface ScrapeResult {
  status: number;
  ms: number;
  bytes: number;
  /** Lines starting with the count prefix (only when asked). */
  count: number;
  contentType: string;
  contentEncoding: string;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

/**
 * GETs `url` and reads the whole body. Counting looks for "\n" + prefix in the raw bytes (and at
 * the very start), so a 200 MB body costs this process little.
 */
export function scrape(
  url: string,
  options: { accept?: string; gzip?: boolean; countPrefix?: string; timeoutMs?: number } = {},
): Promise<ScrapeResult> {
  const headers: Record<string, string> = {};
  if (options.accept) headers.accept = options.accept;
  if (options.gzip) headers['accept-encoding'] = 'gzip';
  const needle = options.countPrefix ? Buffer.from(`\n${options.countPrefix}`) : undefined;
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: keepAlive }, (res) => {
      let bytes = 0;
      let count = 0;
      let carry = Buffer.alloc(0);
      let first = true;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!needle) return;
        if (first && chunk.subarray(0, needle.length - 1).equals(needle.subarray(1))) count++;
        first = false;
        const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        let at = buf.indexOf(needle);
        while (at !== -1) {
          count++;
          at = buf.indexOf(needle, at + needle.length);
        }
        carry = Buffer.from(buf.subarray(Math.max(0, buf.length - needle.length + 1)));
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - start,
          bytes,
          count,
          contentType: String(res.headers['content-type'] ?? ''),
          contentEncoding: String(res.headers['content-encoding'] ?? ''),
        }),
      );
    });
    req.setTimeout(options.timeoutMs ?? 300_000, () => req.destroy(new Error(`no answer: ${url}`)));
    req.on('error', reject);
  });
}

/** CPU time (user + system, all threads) the process has used so far, ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

export function statusKB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** One sample value from an exposition (first series whose line starts with `prefix`). */
export function sampleValue(body: string, prefix: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export async function getText(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

export const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

export interface Latency {
  p50: number;
  p99: number;
  samples: number;
  bytes: number;
  /** CPU time the measured process used per scrape (mean), ms: independent of others' load. */
  cpuMs: number;
  /** Each scrape's time, ms, in the order they ran (a scraper's first scrapes are not foreseen). */
  times?: number[];
}

export interface PeerRun {
  kind: PeerKind;
  label: string;
  objects: number;
  expectedSeries: number;
  /** Spawn to the first complete /metrics (see the file comment). */
  syncMs: number;
  /**
   * Spawn to the start of the last poll that still found series missing: the sync ended between
   * this and `syncMs`. Polls wait twice as long as the previous one took, and a /metrics poll
   * during a large sync takes seconds, so the two can be seconds apart.
   */
  syncAfterMs: number;
  /** CPU time the process had used when that poll was answered, ms (includes serving the polls). */
  syncCpuMs: number;
  /** Bridge only: spawn to the first /readyz 200 (polled every 100 ms, alongside). */
  readyzMs?: number;
  rssAfterSyncMB: number;
  peakRssMB: number;
  text: Latency;
  gzip: Latency;
  openmetrics?: Latency;
  /** Bridge: V8 heap used and old space used after sync (telemetry), MB. */
  heapUsedMB?: number;
  oldSpaceUsedMB?: number;
  /** Bridge: the largest old-space use sampled (1 Hz) during the scrapes, MB. */
  peakOldSpaceMB?: number;
  /** Longest event-loop stall during the scrapes: the bridge's own monitor, and the /healthz prober. */
  scrapeStallMs?: number;
  scrapeProbeMaxMs?: number;
  scrapeRssPeakMB?: number;
  load: { before: number[]; after: number[] };
}

export interface PeerOptions {
  kind: PeerKind;
  label?: string;
  kubeconfig: string;
  /** Config file in CustomResourceStateMetrics format (both read the same file). */
  config: string;
  /** Lines of this family, one per object, mark "synced". */
  countPrefix: string;
  expectedObjects: number;
  seriesPerObject: number;
  extraArgs?: string[];
  /** Node flags for the bridge (default: --max-semi-space-size=8, as deploy/ sets). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  scrapes: number;
  openmetrics?: boolean;
  stalls?: boolean;
  /** Extra work while the process is synced and loaded (e.g. the OTLP export measurement). */
  whileLoaded?: (handle: RunningPeer) => Promise<void>;
  /** Skip the scrape series (only sync, RSS and whileLoaded). */
  skipScrapes?: boolean;
}

export interface RunningPeer {
  child: ChildProcess;
  url: string;
  telemetryUrl: string;
  logFile: string;
}

/** Starts the exporter on free loopback ports; logs go to a file in a temp dir. */
export async function spawnPeer(options: PeerOptions, dir: string): Promise<RunningPeer> {
  const [port, telemetryPort] = [await freePort(), await freePort()];
  const logFile = path.join(dir, `${options.kind}-${port}.log`);
  const fd = openSync(logFile, 'w');
  let child: ChildProcess;
  if (options.kind === 'bridge') {
    child = spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? ['--max-semi-space-size=8']),
        bridgeEntry,
        'run',
        `--config=${options.config}`,
        '--source=kubernetes',
        `--kubeconfig=${options.kubeconfig}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--telemetry.listen-address=127.0.0.1:${telemetryPort}`,
        '--log.level=warn',
        ...(options.extraArgs ?? []),
      ],
      {
        stdio: ['ignore', fd, fd],
        cwd: bridgeRoot,
        env: { ...process.env, OTEL_METRICS_EXPORTER: 'prometheus', ...options.env },
      },
    );
  } else {
    const binary = findKsmBinary();
    if (!binary) throw new Error('no kube-state-metrics binary (KSM_BINARY)');
    child = spawn(
      binary,
      [
        '--custom-resource-state-only',
        `--custom-resource-state-config-file=${options.config}`,
        `--kubeconfig=${options.kubeconfig}`,
        '--host=127.0.0.1',
        `--port=${port}`,
        '--telemetry-host=127.0.0.1',
        `--telemetry-port=${telemetryPort}`,
        '--enable-gzip-encoding',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', fd, fd], env: { ...process.env, ...options.env } },
    );
  }
  closeSync(fd);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    telemetryUrl: `http://127.0.0.1:${telemetryPort}`,
    logFile,
  };
}

/** A /healthz prober in its own process (so this process's work does not add to what it sees). */
const PROBER = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let max = 0, n = 0, stop = false;
const lat = [];
process.on('message', () => { stop = true; });
(async () => {
  while (!stop) {
    const t = performance.now();
    await new Promise((resolve) => {
      const req = http.get(process.argv[1], { agent }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', resolve);
    });
    const ms = performance.now() - t;
    max = Math.max(max, ms); n++; lat.push(ms);
    await new Promise((r) => setTimeout(r, 20));
  }
  lat.sort((a, b) => a - b);
  process.send({ max, n, p99: lat[Math.ceil(0.99 * lat.length) - 1] ?? 0 }, () => process.exit(0));
})();
`;

export function startProber(url: string): { stop(): Promise<{ max: number; n: number; p99: number }> } {
  const child = fork('-e', [PROBER, url], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { max: number; n: number; p99: number }));
        child.send('stop');
      }),
  };
}

/** Samples VmRSS every 100 ms; stop() returns the largest, MB. */
export function startRssSampler(pid: number): { stop(): number } {
  let max = 0;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, statusKB(pid, 'VmRSS') / 1024);
    } catch {
      // the process is gone; its exit is reported elsewhere
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
  };
}

export async function waitForExit(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function latencies(
  pid: number,
  url: string,
  n: number,
  opts: { accept?: string; gzip?: boolean },
  check: (r: ScrapeResult) => void,
): Promise<Latency> {
  const times: number[] = [];
  let bytes = 0;
  const cpuBefore = cpuMs(pid);
  for (let i = 0; i < n; i++) {
    const r = await scrape(`${url}/metrics`, opts);
    check(r);
    times.push(r.ms);
    bytes = r.bytes;
  }
  const cpu = (cpuMs(pid) - cpuBefore) / n;
  return { p50: percentile(times, 50), p99: percentile(times, 99), samples: n, bytes, cpuMs: cpu, times };
}

/** Spawns the exporter, measures it (see the file comment), stops it. */
export async function measurePeer(options: PeerOptions): Promise<PeerRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'peer-bench-'));
  const load = { before: loadavg(), after: [] as number[] };
  const start = performance.now();
  const peer = await spawnPeer(options, dir);
  const { child } = peer;
  const logTail = () => readFileSync(peer.logFile, 'utf8').split('\n').slice(-20).join('\n');
  try {
    let syncMs = NaN;
    let syncAfterMs = 0;
    let syncCpuMs = NaN;
    let readyzMs: number | undefined;
    // The bridge's own readiness (gated on its sources' sync), polled on its own every 100 ms.
    let polling = options.kind === 'bridge';
    const readyzPoll = (async () => {
      while (polling) {
        const at = performance.now();
        const ready = await scrape(`${peer.url}/readyz`).catch(() => undefined);
        if (ready?.status === 200) {
          readyzMs = at - start;
          return;
        }
        await delay(100);
      }
    })();
    try {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${options.kind} exited (${child.exitCode ?? child.signalCode}):\n${logTail()}`);
        if (performance.now() - start > 1_800_000) throw new Error(`${options.kind}: not synced in 30 min`);
        const polledAt = performance.now();
        const r = await scrape(`${peer.url}/metrics`, { countPrefix: options.countPrefix }).catch(
          () => undefined,
        );
        if (r?.status === 200 && r.count >= options.expectedObjects) {
          if (r.count !== options.expectedObjects)
            throw new Error(
              `${options.kind}: ${r.count} series of the count family, ${options.expectedObjects} objects`,
            );
          syncMs = polledAt - start;
          syncCpuMs = cpuMs(child.pid!);
          break;
        }
        syncAfterMs = polledAt - start;
        // Polling a large /metrics is itself work for the process measured: wait twice as long
        // as the last poll took, so polls take at most a third of the time (same rule for both).
        await delay(Math.max(200, 2 * (performance.now() - polledAt)));
      }
    } finally {
      polling = false;
      await readyzPoll;
    }
    for (let i = 0; i < 3; i++) await scrape(`${peer.url}/metrics`);
    await delay(2000);
    const rssAfterSyncMB = statusKB(child.pid!, 'VmRSS') / 1024;
    let heapUsedMB: number | undefined;
    let oldSpaceUsedMB: number | undefined;
    const oldSpace = async (): Promise<number | undefined> => {
      const t = await getText(`${peer.telemetryUrl}/metrics`).catch(() => '');
      const v = sampleValue(t, 'nodejs_heap_space_size_used_bytes{space="old"}');
      return v === undefined ? undefined : v / 2 ** 20;
    };
    if (options.kind === 'bridge') {
      const t = await getText(`${peer.telemetryUrl}/metrics`);
      heapUsedMB = (sampleValue(t, 'nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20;
      oldSpaceUsedMB = (sampleValue(t, 'nodejs_heap_space_size_used_bytes{space="old"}') ?? NaN) / 2 ** 20;
    }
    const result: PeerRun = {
      kind: options.kind,
      label: options.label ?? options.kind,
      objects: options.expectedObjects,
      expectedSeries: options.expectedObjects * options.seriesPerObject,
      syncMs,
      syncAfterMs,
      syncCpuMs,
      ...(readyzMs === undefined ? {} : { readyzMs }),
      rssAfterSyncMB,
      peakRssMB: NaN,
      text: { p50: NaN, p99: NaN, samples: 0, bytes: 0, cpuMs: NaN },
      gzip: { p50: NaN, p99: NaN, samples: 0, bytes: 0, cpuMs: NaN },
      ...(heapUsedMB === undefined ? {} : { heapUsedMB, oldSpaceUsedMB }),
      load,
    };
    if (!options.skipScrapes) {
      const prober = options.stalls ? startProber(`${peer.url}/healthz`) : undefined;
      const rss = startRssSampler(child.pid!);
      if (options.stalls) await getText(`${peer.telemetryUrl}/metrics`); // resets the lag monitor
      let peakOld = oldSpaceUsedMB ?? 0;
      let sampling = options.kind === 'bridge';
      const sampler = (async () => {
        while (sampling) {
          peakOld = Math.max(peakOld, (await oldSpace()) ?? 0);
          await delay(1000);
        }
      })();
      const check = (format: string) => (r: ScrapeResult) => {
        if (r.status !== 200) throw new Error(`${options.kind} ${format} scrape: ${r.status}`);
        if (format === 'gzip' && r.contentEncoding !== 'gzip')
          throw new Error(`${options.kind}: asked for gzip, got "${r.contentEncoding}"`);
        if (format === 'openmetrics' && !r.contentType.includes('openmetrics'))
          throw new Error(`${options.kind}: asked for OpenMetrics, got ${r.contentType}`);
      };
      result.text = await latencies(child.pid!, peer.url, options.scrapes, {}, check('text'));
      result.gzip = await latencies(child.pid!, peer.url, options.scrapes, { gzip: true }, check('gzip'));
      if (options.openmetrics)
        result.openmetrics = await latencies(
          child.pid!,
          peer.url,
          options.scrapes,
          { accept: 'application/openmetrics-text;version=1.0.0' },
          check('openmetrics'),
        );
      sampling = false;
      await sampler;
      if (options.kind === 'bridge') result.peakOldSpaceMB = peakOld;
      result.scrapeRssPeakMB = rss.stop();
      if (prober) {
        const lag = sampleValue(
          await getText(`${peer.telemetryUrl}/metrics`),
          'nodejs_eventloop_lag_max_seconds',
        );
        result.scrapeStallMs = (lag ?? NaN) * 1000;
        result.scrapeProbeMaxMs = (await prober.stop()).max;
      }
    }
    if (options.whileLoaded) await options.whileLoaded(peer);
    result.peakRssMB = statusKB(child.pid!, 'VmHWM') / 1024;
    load.after = loadavg();
    return result;
  } finally {
    await waitForExit(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Same for both: the config file the comparison uses (KSM format, no bridge extensions). */
export const FIVE_SERIES_CONFIG = path.join(import.meta.dirname, 'backup-5-series.yaml');
/** The family counted for "synced" in that config: one series per object. */
export const FIVE_SERIES_COUNT_PREFIX = 'kube_customresource_backup_size_bytes{';
