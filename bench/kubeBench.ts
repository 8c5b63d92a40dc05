// Initial sync from a real kube-apiserver: N Backup objects fetched by each of
// the API server's read paths, measured in the same run so their ratios hold on a loaded machine,
// then the bridge's own time to synced (in process, per initial-sync mode) and from process start
// to /readyz 200.
//
//   node --expose-gc bench/kubeBench.ts [objects=20000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { startKubeApiserver } from '../test/harness/kubeApiserver.ts';
import { repoRoot } from '../test/harness/binaries.ts';
import { freePort } from '../test/harness/ports.ts';
import { httpRequest } from '../test/harness/processes.ts';
import { ApiListerWatcher } from '../src/kube/ApiListerWatcher.ts';
import { KubeClient } from '../src/kube/KubeClient.ts';
import { apiListerWatchers, KubeSource } from '../src/kube/KubeSource.ts';
import type { InitialSyncMode } from '../src/kube/Reflector.ts';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../src/engine/store/SeriesCache.ts';
import { parseKubeJson } from '../src/go/kubeJson.ts';
import { compileFile } from './engineBench.ts';
import { bridgeEntry } from './peerProcess.ts';

const PATH = '/apis/backup.example.com/v1/backups';
const TARGET = { id: 'backup.example.com/v1/backups', path: PATH };

export interface KubeBenchResult {
  objects: number;
  /** Best of the rounds, ms: bodies fetched and JSON-parsed, nothing else. */
  rawListMs: number;
  /** The same with gzip-compressed responses (what client-go and the bridge before 0.2 asked for). */
  rawListGzipMs: number;
  bigPageListMs: number;
  bigPageSize: number;
  watchCacheListMs: number;
  /** null when the server refused streaming lists (`watchListRefused` says why). */
  watchListMs: number | null;
  watchListRefused?: string;
  /** The bridge's source in process, to synced (objects turned into series), per mode. */
  syncMs: Record<InitialSyncMode, number>;
  /**
   * The floor for a process: a fresh Node process that only streams the list and parses it
   * (bench/freshListProcess.js), from spawn to done; best of the rounds.
   */
  freshListProcessMs: number;
  /** A bridge process (the CLI, default mode) from spawn to /readyz 200; best of the rounds. */
  readyzMs: number;
  /** Its CPU time (user+system, all threads) at /readyz 200, in the round with the best readyzMs. */
  readyzCpuMs: number;
  /** The same process from spawn to its first /healthz 200 (start-up, before any sync work counts). */
  healthzMs: number;
  /** That process's RSS 2 s after /readyz 200 (after the initial sync), MB; the lowest of the rounds. */
  rssAfterSyncMB: number;
  objectsPerSecond: number;
  rawObjectsPerSecond: number;
  heapPerThousandKB: number;
  seriesHeapPerThousandKB: number;
  peakRssMB: number;
}

export async function createObjects(
  api: Awaited<ReturnType<typeof startKubeApiserver>>,
  count: number,
): Promise<void> {
  const run = async (args: string[], input?: string) => {
    const r = await api.kubectl(
      args,
      input === undefined ? { timeoutMs: 900_000 } : { input, timeoutMs: 900_000 },
    );
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  await run(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
  await run(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=60s']);
  const workers = 8;
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const items = [];
      for (let i = w; i < count; i += workers) {
        items.push({
          apiVersion: 'backup.example.com/v1',
          kind: 'Backup',
          metadata: { name: `b-${i}`, namespace: 'default', labels: { app: 'bench', shard: String(i % 10) } },
          spec: { target: `s3://bucket-${i % 20}/backups/${i}` },
          status: {
            phase: 'Completed',
            sizeBytes: 1048576 + i,
            startTime: '2026-02-09T10:00:00Z',
            endTime: '2026-02-09T10:05:00Z',
          },
        });
      }
      return run(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    }),
  );
}

/** A (paginated) list: every page fetched and parsed in turn; returns the object count. */
export async function rawList(
  client: KubeClient,
  query: Record<string, string | undefined>,
  onPage?: (items: { metadata: { uid: string } }[]) => void,
): Promise<number> {
  let cont: string | undefined;
  let n = 0;
  do {
    const res = await client.get(PATH, { ...query, continue: cont }, AbortSignal.timeout(600_000));
    const page = JSON.parse(await res.text()) as {
      items: { metadata: { uid: string } }[];
      metadata: { continue?: string };
    };
    onPage?.(page.items);
    n += page.items.length;
    cont = page.metadata.continue || undefined;
  } while (cont);
  return n;
}

/** A streaming list: events decoded until the end bookmark; returns the object count. */
export async function rawWatchList(client: KubeClient): Promise<number> {
  const lw = new ApiListerWatcher(client, TARGET);
  const abort = new AbortController();
  let n = 0;
  try {
    const stream = await lw.watch(
      { resourceVersion: '', timeoutSeconds: 600, sendInitialEvents: true },
      abort.signal,
    );
    for await (const event of stream) {
      if (event.type === 'ADDED') n++;
      else if (event.type === 'BOOKMARK' && event.object.metadata?.annotations?.['k8s.io/initial-events-end'])
        return n;
      else if (event.type === 'ERROR') throw new Error(JSON.stringify(event.object));
    }
    throw new Error('the stream ended before its initial events did');
  } finally {
    abort.abort();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

/** Spawn to exit of bench/freshListProcess.js. */
async function freshListProcess(kubeconfig: string, expected: number): Promise<number> {
  const start = performance.now();
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'bench/freshListProcess.js'), kubeconfig, PATH],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - start;
  const result = JSON.parse(out || '{}') as { objects?: number };
  if (code !== 0 || result.objects !== expected)
    throw new Error(`freshListProcess exited ${code} with ${out.trim() || 'nothing'}`);
  return ms;
}

async function readyz(
  kubeconfig: string,
): Promise<{ healthzMs: number; readyzMs: number; cpuMs: number; rssAfterSyncMB: number }> {
  const [port, telemetryPort] = [await freePort(), await freePort()];
  const start = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=8',
      bridgeEntry,
      'run',
      `--config=${path.join(repoRoot, 'examples/backup/config.yaml')}`,
      '--source=kubernetes',
      `--kubeconfig=${kubeconfig}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--telemetry.listen-address=127.0.0.1:${telemetryPort}`,
      '--log.level=warn',
    ],
    { stdio: 'ignore' },
  );
  let healthzMs = 0;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the bridge exited with ${child.exitCode}`);
      const probe = healthzMs ? 'readyz' : 'healthz';
      const status = await httpRequest(`http://127.0.0.1:${port}/${probe}`, { timeoutMs: 2000 }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200 && !healthzMs) healthzMs = performance.now() - start;
      else if (status === 200) {
        const readyzMs = performance.now() - start;
        const cpuMs = cpuTimeMs(child.pid!);
        await delay(2000);
        return { healthzMs, readyzMs, cpuMs, rssAfterSyncMB: rssMB(child.pid!) };
      }
      if (performance.now() - start > 600_000) throw new Error('no /readyz 200 within 10 min');
      await delay(20);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** CPU time (user+system) a process has used so far, ms (Linux, clock ticks of 10 ms). */
function cpuTimeMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident set size of a process, MB (Linux). */
function rssMB(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

export async function benchKubeSync(count = 20_000, rounds = 2): Promise<KubeBenchResult> {
  const api = await startKubeApiserver();
  const dir = mkdtempSync(path.join(tmpdir(), 'kube-bench-'));
  try {
    await createObjects(api, count);
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(api.adminKubeconfigPath, 'utf8'));
    const client = new KubeClient({ kubeconfig });
    const bigPageSize = 5000;
    const gzipClient = new KubeClient({ kubeconfig, compression: true });
    const best = {
      raw: Infinity,
      rawGzip: Infinity,
      big: Infinity,
      cache: Infinity,
      watchList: Infinity,
      fresh: Infinity,
      healthz: Infinity,
      readyz: Infinity,
      readyzCpu: Infinity,
      rss: Infinity,
    };
    let listed = 0;
    let watchListRefused: string | undefined;
    // Rounds interleave the paths, so a slow spell of the shared machine hits them all alike.
    for (let round = 0; round < rounds; round++) {
      const [raw, n] = await timed(() => rawList(client, { limit: '500' }));
      listed = n;
      best.raw = Math.min(best.raw, raw);
      best.rawGzip = Math.min(best.rawGzip, (await timed(() => rawList(gzipClient, { limit: '500' })))[0]);
      best.big = Math.min(best.big, (await timed(() => rawList(client, { limit: String(bigPageSize) })))[0]);
      best.cache = Math.min(best.cache, (await timed(() => rawList(client, { resourceVersion: '0' })))[0]);
      if (watchListRefused === undefined) {
        try {
          const [ms, m] = await timed(() => rawWatchList(client));
          if (m !== n) throw new Error(`streaming list gave ${m} objects, the list ${n}`);
          best.watchList = Math.min(best.watchList, ms);
        } catch (err) {
          watchListRefused = (err as Error).message;
        }
      }
      // The bridge process in the same round, so it meets the API server in the state the bare
      // lists just did (warm watch cache, same load).
      best.fresh = Math.min(best.fresh, await freshListProcess(kubeconfig, n));
      const cli = await readyz(kubeconfig);
      best.healthz = Math.min(best.healthz, cli.healthzMs);
      if (cli.readyzMs < best.readyz) best.readyzCpu = cli.cpuMs;
      best.readyz = Math.min(best.readyz, cli.readyzMs);
      best.rss = Math.min(best.rss, cli.rssAfterSyncMB);
    }
    await client.close();
    await gzipClient.close();

    const config = compileFile(path.join(repoRoot, 'examples/backup/config.yaml'));
    // The series alone: the same objects straight into a cache, no source.
    const client2 = new KubeClient({ kubeconfig });
    const res = await client2.get(PATH, { resourceVersion: '0' }, AbortSignal.timeout(600_000));
    const items = (parseKubeJson(await res.text()) as { items: Record<string, unknown>[] }).items;
    await client2.close();
    globalThis.gc?.();
    const seriesBefore = process.memoryUsage().heapUsed;
    const seriesOnly = new SeriesCache(config.families);
    const direct = new ObjectIngestor(config, seriesOnly, new ObjectErrors());
    items.forEach((item, i) => direct.upsertNow('bench', `k${i}`, item));
    globalThis.gc?.();
    const seriesHeap = process.memoryUsage().heapUsed - seriesBefore;
    items.length = 0;

    const syncMs = {} as Record<InitialSyncMode, number>;
    let heapPerThousandKB = 0;
    let objectsPerSecond = 0;
    for (const mode of ['list', 'watch-list'] as const) {
      globalThis.gc?.();
      const before = process.memoryUsage().heapUsed;
      const cache = new SeriesCache(config.families);
      const sourceClient = new KubeClient({ kubeconfig });
      const source = new KubeSource({
        server: sourceClient.server,
        listerWatcher: apiListerWatchers(sourceClient),
        resources: config.resources.map((r) => r.config),
        sink: new ObjectIngestor(config, cache, new ObjectErrors()),
        logger: pino({ level: 'warn' }),
        initialSync: mode,
      });
      const [ms] = await timed(() => source.start());
      syncMs[mode] = ms;
      if (cache.objectCount !== listed)
        throw new Error(`${mode}: synced ${cache.objectCount} of ${listed} objects`);
      globalThis.gc?.();
      if (mode === 'list') {
        heapPerThousandKB = (process.memoryUsage().heapUsed - before) / 1024 / (cache.objectCount / 1000);
        objectsPerSecond = (cache.objectCount / ms) * 1000;
      }
      await source.stop();
      await sourceClient.close();
    }
    return {
      objects: listed,
      rawListMs: best.raw,
      rawListGzipMs: best.rawGzip,
      bigPageListMs: best.big,
      bigPageSize,
      watchCacheListMs: best.cache,
      watchListMs: Number.isFinite(best.watchList) ? best.watchList : null,
      ...(watchListRefused ? { watchListRefused } : {}),
      syncMs,
      freshListProcessMs: best.fresh,
      readyzMs: best.readyz,
      readyzCpuMs: best.readyzCpu,
      healthzMs: best.healthz,
      rssAfterSyncMB: best.rss,
      objectsPerSecond,
      rawObjectsPerSecond: (listed / best.raw) * 1000,
      heapPerThousandKB,
      seriesHeapPerThousandKB: seriesHeap / 1024 / (seriesOnly.objectCount / 1000),
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await api.stop();
  }
}

if (import.meta.main) {
  process.stdout.write(JSON.stringify(await benchKubeSync(Number(process.argv[2] ?? 20_000))) + '\n');
}
