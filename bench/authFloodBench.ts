// A wrong-password flood against the real bridge process with basic auth (dist/ bundle, files
// source), next to a floor measured in the same run: the same scrapes and probes with no flood.
//
//   node bench/authFloodBench.ts [seconds per phase=20]
//   BENCH_ONLY=auth npm run bench        (BENCH_AUTH_FLOOD_SECONDS: seconds per phase)
//
// Phases, each `seconds` long, on one bridge process (web config: one user, bcrypt cost 10):
//   floor: a correct scrape every second (cached credentials, as a scraping Prometheus) and
//          /healthz every 200 ms;
//   flood: the same, plus 30 requests/s with random passwords for that user, each on a new
//          connection from 127.0.0.2.
// Then the timing oracle: the web config is switched to one user with cost 12, and wrong
// passwords for that user and for unknown users are timed alternately (no flood).
// BENCH_BRIDGE_ROOT runs another checkout's dist/ (e.g. the code before the worker pool).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { startBridgeProcess, writeObjects } from './concurrentScrapeBench.ts';

const OBJECTS = 2_000;
const FLOOD_PER_SECOND = 30;

interface Latencies {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Answers other than the expected status (refused, cut, wrong status). */
  readonly failed: number;
}

interface PhaseResult {
  readonly scrapes: Latencies;
  readonly probes: Latencies;
  /** Flood requests by status (0 = connection failed). */
  readonly flood: Record<string, number>;
  readonly floodLatency: Latencies | undefined;
  /** CPU of the bridge process (all threads) and of its main thread, in % of one core. */
  readonly processCpu: number;
  readonly mainThreadCpu: number;
}

export interface AuthFloodResult {
  readonly seconds: number;
  readonly poolNote: string;
  readonly floor: PhaseResult;
  readonly flood: PhaseResult;
  /** Mean ms of a wrong password at cost 12: existing user, unknown users. */
  readonly oracle: { readonly knownMs: number; readonly unknownMs: number; readonly rounds: number };
}

interface Timed {
  readonly status: number;
  readonly ms: number;
}

function get(port: number, p: string, authorization?: string, localAddress?: string): Promise<Timed> {
  const began = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        agent: false,
        localAddress,
        headers: authorization ? { authorization } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - began }));
        res.on('error', () => resolve({ status: 0, ms: performance.now() - began }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - began }));
    req.end();
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Sends every `everyMs` for `forMs` (on a timer, not waiting for answers); all results. */
async function every(everyMs: number, forMs: number, send: () => Promise<Timed>): Promise<Timed[]> {
  const pending: Promise<Timed>[] = [];
  const began = performance.now();
  for (let i = 0; performance.now() - began < forMs; i++) {
    pending.push(send());
    const next = began + (i + 1) * everyMs;
    await delay(Math.max(0, next - performance.now()));
  }
  return Promise.all(pending);
}

function latencies(results: readonly Timed[], ok: (status: number) => boolean): Latencies {
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)] ?? NaN;
  return {
    count: results.length,
    p50: at(0.5),
    p99: at(0.99),
    max: ms.at(-1) ?? NaN,
    failed: results.filter((r) => !ok(r.status)).length,
  };
}

/** CPU seconds used so far: the whole process (all threads) and its main thread. */
function cpuSeconds(pid: number): { process: number; main: number } {
  const ticks = (file: string) => {
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  return { process: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

async function phase(port: number, pid: number, seconds: number, flood: boolean): Promise<PhaseResult> {
  const cpuBefore = cpuSeconds(pid);
  const began = performance.now();
  const ms = seconds * 1000;
  const [scrapes, probes, floodResults] = await Promise.all([
    every(1000, ms, () => get(port, '/metrics', basic('prometheus', 's3cret'))),
    every(200, ms, () => get(port, '/healthz')),
    flood
      ? every(1000 / FLOOD_PER_SECOND, ms, () =>
          get(port, '/metrics', basic('prometheus', randomBytes(9).toString('base64')), '127.0.0.2'),
        )
      : Promise.resolve([]),
  ]);
  const wall = (performance.now() - began) / 1000;
  const cpuAfter = cpuSeconds(pid);
  const byStatus: Record<string, number> = {};
  for (const r of floodResults) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    scrapes: latencies(scrapes, (s) => s === 200),
    probes: latencies(probes, (s) => s === 200),
    flood: byStatus,
    floodLatency: flood ? latencies(floodResults, (s) => s === 401 || s === 429) : undefined,
    processCpu: ((cpuAfter.process - cpuBefore.process) / wall) * 100,
    mainThreadCpu: ((cpuAfter.main - cpuBefore.main) / wall) * 100,
  };
}

export async function benchAuthFlood(seconds = 20): Promise<AuthFloodResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-auth-flood-'));
  try {
    mkdirSync(path.join(dir, 'objects'));
    writeObjects(path.join(dir, 'objects'), OBJECTS);
    const web = path.join(dir, 'web.yml');
    writeFileSync(web, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 10)}\n`);
    const bridge = await startBridgeProcess(dir, [`--web.config.file=${web}`]);
    try {
      const first = await get(bridge.port, '/metrics', basic('prometheus', 's3cret'));
      if (first.status !== 200) throw new Error(`first scrape: ${first.status}`);
      await phase(bridge.port, bridge.pid, 2, false); // warm-up
      const floor = await phase(bridge.port, bridge.pid, seconds, false);
      const flood = await phase(bridge.port, bridge.pid, seconds, true);
      await delay(3000); // let the last flood checks finish
      // Timing oracle: one user at cost 12 (the old decoy had cost 10 whatever the users had).
      writeFileSync(web, `basic_auth_users:\n  slowuser: ${bcrypt.hashSync('right', 12)}\n`);
      await get(bridge.port, '/metrics', basic('slowuser', 'right')); // reloads, starts the worker
      let knownMs = 0;
      let unknownMs = 0;
      const rounds = 10;
      for (let i = 0; i < rounds; i++) {
        knownMs += (await get(bridge.port, '/metrics', basic('slowuser', `wrong${i}`))).ms;
        unknownMs += (await get(bridge.port, '/metrics', basic(`nobody${i}`, `wrong${i}`))).ms;
      }
      return {
        seconds,
        poolNote: process.env.BENCH_BRIDGE_ROOT
          ? `dist of ${process.env.BENCH_BRIDGE_ROOT}`
          : 'this checkout',
        floor,
        flood,
        oracle: { knownMs: knownMs / rounds, unknownMs: unknownMs / rounds, rounds },
      };
    } finally {
      await bridge.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printAuthFlood(r: AuthFloodResult): void {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(0));
  const l = (x: Latencies) => `${f(x.p50)} / ${f(x.p99)} / ${f(x.max)}`;
  console.log(
    `\nWrong-password flood (basic auth, bcrypt cost 10, ${OBJECTS.toLocaleString('en')} objects, ${r.seconds} s per phase, bridge: ${r.poolNote}). Latency in ms, p50 / p99 / max; ratios are flood p99 over floor p99.\n`,
  );
  console.log(
    '| phase | correct scrapes (1/s) | failed | /healthz (5/s) | failed | wrong passwords sent | 401 | 429 | other | their latency | bridge CPU % (all threads / main thread) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, p] of [
    ['floor (no flood)', r.floor],
    [`flood (${FLOOD_PER_SECOND}/s)`, r.flood],
  ] as const) {
    const sent = Object.values(p.flood).reduce((a, b) => a + b, 0);
    const other = sent - (p.flood['401'] ?? 0) - (p.flood['429'] ?? 0);
    console.log(
      `| ${name} | ${l(p.scrapes)} | ${p.scrapes.failed} | ${l(p.probes)} | ${p.probes.failed} | ${sent} | ${p.flood['401'] ?? 0} | ${p.flood['429'] ?? 0} | ${other} | ${p.floodLatency ? l(p.floodLatency) : ''} | ${f(p.processCpu)} / ${f(p.mainThreadCpu)} |`,
    );
  }
  console.log(
    `\nFlood / floor, p99: scrapes ${(r.flood.scrapes.p99 / r.floor.scrapes.p99).toFixed(2)}×, /healthz ${(r.flood.probes.p99 / r.floor.probes.p99).toFixed(2)}×.`,
  );
  console.log(
    `\nTiming oracle (one user, cost 12, no flood, ${r.oracle.rounds} rounds): wrong password for the user ${f(r.oracle.knownMs)} ms, for unknown users ${f(r.oracle.unknownMs)} ms (ratio ${(r.oracle.unknownMs / r.oracle.knownMs).toFixed(2)}).`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printAuthFlood(await benchAuthFlood(Number(process.argv[2] ?? 20)));
}

/**
 * The section of `npm run bench`: runs unless another BENCH_ONLY is asked for, and ends the run
 * when BENCH_ONLY=auth.
 */
export async function authFloodSection(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only && only !== 'auth') return;
  printAuthFlood(await benchAuthFlood(Number(process.env.BENCH_AUTH_FLOOD_SECONDS ?? 20)));
  if (only === 'auth') process.exit(0);
}
