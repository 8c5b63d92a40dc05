// Scale-out with sharding (issue 9 item 4): N Backup objects in a real kube-apiserver, served by
// one unsharded bridge and by 3 shards (--shard i --total-shards 3), each a real CLI process run
// one after the other. Per process: initial sync time (the bridge's own "source synced" log),
// RSS after sync and peak RSS (VmHWM), and full-scrape time (median of 3). Ratios against the
// unsharded process of the same run matter more than absolutes on a shared machine.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startKubeApiserver } from '../test/harness/kubeApiserver.ts';
import { repoRoot } from '../test/harness/binaries.ts';
import { httpRequest } from '../test/harness/processes.ts';
import { startBridge } from '../test/support/bridgeProcess.ts';

export interface ShardBenchRow {
  name: string;
  objects: number;
  syncMs: number;
  rssMB: number;
  peakRssMB: number;
  scrapeMs: number;
  scrapeBytes: number;
}

function statusKB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

export async function benchSharding(count: number): Promise<ShardBenchRow[]> {
  const api = await startKubeApiserver();
  try {
    const run = async (args: string[], input?: string) => {
      const r = await api.kubectl(
        args,
        input === undefined ? { timeoutMs: 1_800_000 } : { input, timeoutMs: 1_800_000 },
      );
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    };
    await run(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
    await run(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=60s']);
    const workers = 8;
    const batch = 2_000;
    for (let start = 0; start < count; start += batch * workers) {
      await Promise.all(
        Array.from({ length: workers }, (_, w) => {
          const items = [];
          for (let i = start + w * batch; i < Math.min(count, start + (w + 1) * batch); i++) {
            items.push({
              apiVersion: 'backup.example.com/v1',
              kind: 'Backup',
              metadata: { name: `b-${i}`, namespace: 'default' },
              spec: { target: `s3://bucket-${i % 20}/backups/${i}` },
              status: {
                phase: i % 7 === 0 ? 'Failed' : 'Completed',
                sizeBytes: 1048576 + i,
                startTime: '2026-02-09T10:00:00Z',
                endTime: '2026-02-09T10:05:00Z',
              },
            });
          }
          if (items.length === 0) return Promise.resolve();
          return run(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
        }),
      );
    }
    const rows: ShardBenchRow[] = [];
    const variants: [string, string[]][] = [
      ['unsharded', []],
      ...[0, 1, 2].map((n): [string, string[]] => [`shard ${n}/3`, [`--shard=${n}`, '--total-shards=3']]),
    ];
    for (const [name, args] of variants) {
      const bridge = await startBridge({
        config: path.join(repoRoot, 'examples/backup/config.yaml'),
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${api.adminKubeconfigPath}`, '--log.level=info', ...args],
        env: { NODE_OPTIONS: '--max-semi-space-size=8' },
        // A 100k sync on a loaded machine outlasts the harness's 60 s start timeout.
        waitForReady: false,
      });
      try {
        const deadline = Date.now() + 900_000;
        while (!readFileSync(bridge.process.logFile, 'utf8').includes('source synced')) {
          if (Date.now() > deadline) throw new Error(`${name}: no sync within 15 minutes`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const line = readFileSync(bridge.process.logFile, 'utf8')
          .split('\n')
          .find((l) => l.includes('source synced'));
        const parsed = line ? (JSON.parse(line) as { ms?: number; objects?: number }) : {};
        const rssMB = statusKB(bridge.process.pid, 'VmRSS') / 1024;
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          const r = await httpRequest(`${bridge.url}/metrics`, { timeoutMs: 120_000 });
          times.push(performance.now() - t);
          bytes = Buffer.byteLength(r.body);
        }
        times.sort((a, b) => a - b);
        rows.push({
          name,
          objects: parsed.objects ?? NaN,
          syncMs: parsed.ms ?? NaN,
          rssMB,
          peakRssMB: statusKB(bridge.process.pid, 'VmHWM') / 1024,
          scrapeMs: times[1]!,
          scrapeBytes: bytes,
        });
      } finally {
        await bridge.stop();
      }
    }
    return rows;
  } finally {
    await api.stop();
  }
}

if (import.meta.main) {
  const rows = await benchSharding(Number(process.argv[2] ?? 100_000));
  const base = rows[0]!;
  const ratio = (v: number, b: number) => (v / b).toFixed(2);
  console.log('| process | objects | sync | RSS after sync | peak RSS | full scrape |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.objects} | ${r.syncMs.toFixed(0)} ms (${ratio(r.syncMs, base.syncMs)}) | ${r.rssMB.toFixed(0)} MB (${ratio(r.rssMB, base.rssMB)}) | ${r.peakRssMB.toFixed(0)} MB (${ratio(r.peakRssMB, base.peakRssMB)}) | ${r.scrapeMs.toFixed(0)} ms, ${(r.scrapeBytes / 1e6).toFixed(1)} MB (${ratio(r.scrapeMs, base.scrapeMs)}) |`,
    );
  process.stdout.write(JSON.stringify(rows) + '\n');
}
