// Fault matrix: "OTLP Collector down for minutes (memory bounded)". A real bridge pushes
// 15,000 series every second to a real Collector; the Collector is stopped for OUTAGE_SECONDS
// (default 130) while the bridge's memory is sampled from its own telemetry, objects change and
// vanish, and Prometheus-style scrapes go on; then a new Collector on the same address must
// receive exactly what /metrics serves. About 3 minutes in all.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from '../harness/binaries.ts';
import { otlpPushEnv, startCollector } from '../harness/collector.ts';
import type { CollectorHandle } from '../harness/collector.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';

const FILES = 10;
const OBJECTS_PER_FILE = 500;
/** 3 series per Backup (status, size, duration). */
const SERIES = FILES * OBJECTS_PER_FILE * 3;
const OUTAGE_MS = Number(process.env.OTLP_OUTAGE_SECONDS ?? 130) * 1000;
/** Memory is judged from here on: the first failures allocate the retry path and its buffers once. */
const SETTLE_MS = 20_000;
const SAMPLE_EVERY_MS = 2_000;
/**
 * What the outage may cost. The bridge keeps nothing per failed export (no queue: the next interval
 * collects afresh; undelivered staleness markers are capped at 100k), so once its retry path has
 * run a few times its memory should be flat. Measured (2 cores, load 15): RSS 249 MB when the
 * Collector went away, 278 MB at 20 s, a 315 MB peak at 45 s just before V8's first full GC of the
 * outage (heap used 114 → 60 MB), then 294–299 MB to the end; external memory 21–68 MB.
 * - Growth over the settled level: V8 lets old space fill with garbage up to about twice the live
 *   heap (≈55 MB here) before a full GC, and RSS follows, so 64 MB is the GC's slack, not a leak.
 * - No climb: the lowest sample of the second half of what the bridge allocates (heap used plus
 *   external memory) may not exceed the first half's lowest by 10 MB. The samples are a sawtooth
 *   (failed request bodies are external memory until a GC) whose teeth can last half a minute, so
 *   medians of thirds compared teeth; the lowest samples of each half follow what survives a GC,
 *   where a leak shows. A leak of 0.4 MB a second (a request body kept every fifth export) would
 *   add about 14 MB between them on one run's samples; a slower one would pass. (RSS also holds
 *   the allocator's per-thread arenas, which grow with the load on the thread pool and are
 *   reused, not leaked: with other test files running beside this one RSS climbed 22 MB while
 *   heap and external stayed flat.)
 * - Buffers (request bodies are external memory): at most one request of 20k points (~2 MB
 *   uncompressed) is alive per export; 128 MB leaves room for garbage not yet collected.
 * Before the fix in OtlpRequestEncoder (256 KiB reserved per Metric message, one message per
 * staleness marker) this test saw external memory of 400 MB, RSS +90–114 MB and a steady climb.
 */
const MAX_GROWTH_BYTES = 64 * 1024 * 1024;
const MAX_CLIMB_BYTES = 10 * 1024 * 1024;
const MAX_EXTERNAL_BYTES = 128 * 1024 * 1024;

/** A Collector with only the OTLP receiver and the Prometheus exporter (no file export of 15k points a second). */
const COLLECTOR_CONFIG = `receivers:
  otlp:
    protocols:
      http:
        endpoint: \${env:OTLP_HTTP_ENDPOINT}
exporters:
  prometheus:
    endpoint: \${env:PROM_EXPORT_ENDPOINT}
    resource_to_telemetry_conversion:
      enabled: false
    without_scope_info: true
    translation_strategy: UnderscoreEscapingWithSuffixes
    send_timestamps: false
    metric_expiration: 5m
service:
  pipelines:
    metrics:
      receivers: [otlp]
      processors: []
      exporters: [prometheus]
  telemetry:
    logs:
      level: warn
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: \${env:COLLECTOR_TELEMETRY_PORT}
`;

function backupsYaml(file: number, sizeOffset: number): string {
  const docs: string[] = [];
  for (let i = 0; i < OBJECTS_PER_FILE; i++) {
    const name = `b-${file}-${i}`;
    docs.push(`apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: ${name}, namespace: ns-${file} }
spec: { target: "s3://bucket/${name}" }
status: { phase: Completed, sizeBytes: ${sizeOffset + i}, startTime: "2026-02-09T10:00:00Z", endTime: "2026-02-09T10:05:00Z" }
`);
  }
  return docs.join('---\n');
}

/** Backup series as `name{sorted labels} value`, without what the Collector adds from the resource. */
function seriesSet(exposition: string): string[] {
  return samples(exposition, 'backup_')
    .map((l) => {
      const m = /^([^{ ]+)\{(.*)\} (.*)$/.exec(l);
      if (!m) return l;
      const labels = (m[2]!.match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []).filter(
        (x) => !/^(job|instance)=/.test(x),
      );
      return `${m[1]}{${labels.sort().join(',')}} ${Number(m[3])}`;
    })
    .sort();
}

function gauge(exposition: string, name: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function counter(exposition: string, series: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

describe('OTLP Collector down for minutes, with 15,000 series pushed every second', () => {
  let dir: string;
  let collectorDir: string;
  let collector: CollectorHandle | undefined;
  let bridge: BridgeHandle;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-otlp-outage-'));
    collectorDir = mkdtempSync(path.join(tmpdir(), 'otelcol-outage-config-'));
    writeFileSync(path.join(collectorDir, 'collector.yaml'), COLLECTOR_CONFIG);
    for (let f = 0; f < FILES; f++) writeFileSync(path.join(dir, `backups-${f}.yaml`), backupsYaml(f, 1000));
    collector = await startCollector({ configFile: path.join(collectorDir, 'collector.yaml') });
    bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: `files:${dir}`,
      env: otlpPushEnv(collector, 1000, {
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        OTEL_SERVICE_NAME: 'bridge-outage',
        // As deploy/ and `npm start` run it.
        NODE_OPTIONS: '--max-semi-space-size=8',
      }),
    });
  });

  after(async () => {
    await bridge?.stop();
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(collectorDir, { recursive: true, force: true });
  });

  it('keeps serving with bounded memory, counts the failures, and the new Collector gets the current series', async () => {
    const fullLog = () => readFileSync(bridge.process.logFile, 'utf8');
    const collectorSeries = async (url: string) => seriesSet((await httpRequest(`${url}/metrics`)).body);
    const ours = seriesSet((await bridge.scrape()).body);
    assert.equal(ours.length, SERIES);
    const first = collector!;
    await until(
      'the Collector exposes every series the bridge serves',
      async () => (await collectorSeries(first.prometheusUrl)).length === SERIES,
      60_000,
    );
    assert.deepEqual(await collectorSeries(first.prometheusUrl), ours);

    const telemetry = async () => (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
    const failuresBefore = counter(
      await telemetry(),
      'crd_metrics_bridge_otlp_exports_total{result="failure"}',
    );
    const endpoint = first.otlpHttpEndpoint;
    await first.stop();
    collector = undefined;
    const outageStart = Date.now();
    const rss: { t: number; bytes: number }[] = [];
    const heap: number[] = [];
    const external: number[] = [];
    let changed = false;
    let scrapes = 0;
    while (Date.now() - outageStart < OUTAGE_MS) {
      const t = Date.now() - outageStart;
      const self = await telemetry();
      rss.push({ t, bytes: gauge(self, 'process_resident_memory_bytes') });
      heap.push(gauge(self, 'nodejs_heap_size_used_bytes'));
      external.push(gauge(self, 'nodejs_external_memory_bytes'));
      if (!changed && t > 30_000) {
        // While the Collector is away, objects change and vanish: it must get the state of now.
        writeFileSync(path.join(dir, 'backups-0.yaml'), backupsYaml(0, 5000));
        rmSync(path.join(dir, `backups-${FILES - 1}.yaml`));
        changed = true;
      }
      if (rss.length % 5 === 0) {
        // Scrapes go on as Prometheus' would, and readiness does not depend on the Collector.
        const scrape = await bridge.scrape();
        assert.equal(scrape.status, 200);
        assert.ok(samples(scrape.body, 'backup_size_bytes').length >= (FILES - 1) * OBJECTS_PER_FILE);
        assert.equal((await httpRequest(`${bridge.url}/readyz`)).status, 200);
        scrapes++;
      }
      await delay(SAMPLE_EVERY_MS);
    }
    const self = await telemetry();
    const failures =
      counter(self, 'crd_metrics_bridge_otlp_exports_total{result="failure"}') - failuresBefore;

    const settled = rss.filter((s) => s.t >= SETTLE_MS).map((s) => s.bytes);
    const atSettle = median(settled.slice(0, 3));
    const peak = Math.max(...settled);
    const allocated = rss
      .map((s, i) => ({ t: s.t, bytes: heap[i]! + external[i]! }))
      .filter((s) => s.t >= SETTLE_MS)
      .map((s) => s.bytes);
    const half = Math.floor(allocated.length / 2);
    const firstHalf = Math.min(...allocated.slice(0, half));
    const secondHalf = Math.min(...allocated.slice(half));
    const report =
      `RSS at outage start ${mb(rss[0]!.bytes)} MB, at ${SETTLE_MS / 1000} s ${mb(atSettle)} MB, ` +
      `max ${mb(Math.max(...rss.map((s) => s.bytes)))} MB (after ${SETTLE_MS / 1000} s: ${mb(peak)} MB), ` +
      `end ${mb(rss.at(-1)!.bytes)} MB; heap+external lowest in the first/second half ${mb(firstHalf)}/${mb(secondHalf)} MB; ` +
      `heap used min/max ${mb(Math.min(...heap))}/${mb(Math.max(...heap))} MB; ` +
      `external max ${mb(Math.max(...external))} MB; ` +
      `${failures} failed exports in ${Math.round(OUTAGE_MS / 1000)} s; ${scrapes} scrapes during the outage`;
    console.log(report);
    console.log(
      `RSS/heap/external MB every ${SAMPLE_EVERY_MS / 1000} s: ` +
        rss
          .map((r, i) => `${Math.round(r.t / 1000)}s:${mb(r.bytes)}/${mb(heap[i]!)}/${mb(external[i]!)}`)
          .join(' '),
    );
    assert.ok(rss.length >= 20, `${rss.length} samples`);
    assert.ok(peak - atSettle < MAX_GROWTH_BYTES, `memory grew during the outage: ${report}`);
    assert.ok(secondHalf - firstHalf < MAX_CLIMB_BYTES, `memory keeps climbing: ${report}`);
    assert.ok(Math.max(...external) < MAX_EXTERNAL_BYTES, `buffers pile up: ${report}`);
    // One export per interval (1 s), each failing: the count must show the outage, not a few.
    assert.ok(failures >= OUTAGE_MS / 1000 / 4, `failures counted: ${report}`);
    assert.match(fullLog(), /OTLP export failing/);
    assert.equal(fullLog().match(/OTLP export failing/g)?.length, 1, 'one warning for the outage');

    // A new Collector on the same address: the current series, equal to /metrics, arrive by themselves.
    const back = await startCollector({
      configFile: path.join(collectorDir, 'collector.yaml'),
      otlpHttpEndpoint: endpoint,
    });
    collector = back;
    const now = seriesSet((await bridge.scrape()).body);
    assert.equal(now.length, (FILES - 1) * OBJECTS_PER_FILE * 3);
    assert.ok(now.some((l) => l.startsWith('backup_size_bytes{') && l.endsWith(' 5000')));
    const recoveredIn = Date.now();
    await until(
      'the new Collector exposes what /metrics serves',
      async () => {
        const theirs = await collectorSeries(back.prometheusUrl);
        return theirs.length === now.length && theirs.every((l, i) => l === now[i]);
      },
      30_000,
    );
    console.log(`the new Collector had the current series after ${Date.now() - recoveredIn} ms`);
    assert.match(fullLog(), /OTLP export recovered/);
    const successes = counter(await telemetry(), 'crd_metrics_bridge_otlp_exports_total{result="success"}');
    assert.ok(successes > 0);
  });
});
