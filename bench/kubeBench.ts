// Initial sync from a real kube-apiserver: 10,000 Backup objects listed (paginated) and turned
// into series, compared with the bare list the API server can deliver.
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { startKubeApiserver } from '../test/harness/kubeApiserver.ts';
import { repoRoot } from '../test/harness/binaries.ts';
import { KubeClient } from '../src/kube/KubeClient.ts';
import { KubeSource } from '../src/kube/KubeSource.ts';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../src/engine/ObjectIngestor.ts';
import { SeriesCache } from '../src/engine/SeriesCache.ts';
import { compileFile } from './engineBench.ts';

export interface KubeBenchResult {
  objects: number;
  rawListMs: number;
  syncMs: number;
  objectsPerSecond: number;
  rawObjectsPerSecond: number;
  heapPerThousandKB: number;
  seriesHeapPerThousandKB: number;
  peakRssMB: number;
}

export async function benchKubeSync(count = 10_000): Promise<KubeBenchResult> {
  const api = await startKubeApiserver();
  try {
    const run = async (args: string[], input?: string) => {
      const r = await api.kubectl(
        args,
        input === undefined ? { timeoutMs: 600_000 } : { input, timeoutMs: 600_000 },
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
            metadata: {
              name: `b-${i}`,
              namespace: 'default',
              labels: { app: 'bench', shard: String(i % 10) },
            },
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
    const dir = mkdtempSync(path.join(tmpdir(), 'kube-bench-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      await import('node:fs').then((fs) => fs.readFileSync(api.adminKubeconfigPath, 'utf8')),
    );

    // The API server alone: the same paginated list, bodies read and parsed, nothing else.
    const client = new KubeClient({ kubeconfig });
    const rawStart = performance.now();
    let cont: string | undefined;
    const items: Record<string, unknown>[] = [];
    do {
      const res = await client.get(
        '/apis/backup.example.com/v1/backups',
        { limit: '500', continue: cont },
        AbortSignal.timeout(120_000),
      );
      const page = JSON.parse(await res.text()) as {
        items: Record<string, unknown>[];
        metadata: { continue?: string };
      };
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
    } while (cont);
    const rawListMs = performance.now() - rawStart;
    const listed = items.length;
    await client.close();

    const config = compileFile(path.join(repoRoot, 'examples/backup/config.yaml'));
    // The series alone: the same objects straight into a cache, no source.
    globalThis.gc?.();
    const seriesBefore = process.memoryUsage().heapUsed;
    const seriesOnly = new SeriesCache(config.families);
    const direct = new ObjectIngestor(config, seriesOnly, new ObjectErrors());
    items.forEach((item, i) => direct.upsert(`k${i}`, item));
    globalThis.gc?.();
    const seriesHeap = process.memoryUsage().heapUsed - seriesBefore;
    items.length = 0;
    void seriesOnly.objectCount;

    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    const cache = new SeriesCache(config.families);
    const source = new KubeSource({
      client: new KubeClient({ kubeconfig }),
      resources: config.resources.map((r) => r.config),
      sink: new ObjectIngestor(config, cache, new ObjectErrors()),
      logger: pino({ level: 'warn' }),
    });
    const syncStart = performance.now();
    await source.start();
    const syncMs = performance.now() - syncStart;
    globalThis.gc?.();
    const after = process.memoryUsage().heapUsed;
    await source.stop();
    return {
      objects: listed,
      rawListMs,
      syncMs,
      objectsPerSecond: (cache.objectCount / syncMs) * 1000,
      rawObjectsPerSecond: (listed / rawListMs) * 1000,
      heapPerThousandKB: (after - before) / 1024 / (cache.objectCount / 1000),
      seriesHeapPerThousandKB: seriesHeap / 1024 / (seriesOnly.objectCount / 1000),
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await api.stop();
  }
}

if (import.meta.main) {
  process.stdout.write(JSON.stringify(await benchKubeSync(Number(process.argv[2] ?? 10_000))) + '\n');
}
