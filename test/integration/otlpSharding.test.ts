// Static shards pushing OTLP into one real Collector: each shard's resource carries
// service.instance.id=shard-N, its points are exactly its shard's series, the Collector's
// Prometheus exporter keeps the shards apart by `instance`, and the shards together equal an
// unsharded bridge.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { otlpPushEnv, startCollector } from '../harness/collector.ts';
import type { CollectorHandle } from '../harness/collector.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';
import { shardOf } from '../../src/kube/sharding.ts';

const OBJECTS = 60;
const TOTAL = 3;
const SERVICE = 'crd-metrics-bridge';
const FAMILIES = ['backup_status', 'backup_size_bytes', 'backup_duration_seconds'];

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string; doubleValue?: number };
}
interface OtlpDataPoint {
  attributes?: OtlpAttribute[];
  asDouble?: number;
  asInt?: string;
  flags?: number;
}
interface OtlpDocument {
  resourceMetrics?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeMetrics?: { metrics?: { name: string; gauge?: { dataPoints?: OtlpDataPoint[] } }[] }[];
  }[];
}

/** `name{k="v",...} value` with labels sorted, so series from any path compare as strings. */
function seriesLine(name: string, labels: Record<string, string>, value: number): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
  return `${name}{${sorted}} ${value}`;
}

/** Parses exposition sample lines of the backup families into seriesLine form, by `instance` label. */
function exposedByInstance(exposition: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of samples(exposition, 'backup_')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    assert.ok(m, `unexpected sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k!] = JSON.parse(`"${v!}"`) as string;
    const instance = labels['instance'] ?? '';
    delete labels['instance'];
    delete labels['job'];
    const list = out.get(instance) ?? [];
    list.push(seriesLine(m[1]!, labels, Number(m[3])));
    out.set(instance, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** The bridge's own /metrics, in seriesLine form. */
async function scraped(bridge: BridgeHandle): Promise<string[]> {
  const scrape = await bridge.scrape();
  assert.equal(scrape.status, 200);
  return exposedByInstance(scrape.body).get('') ?? [];
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? [])
    out[a.key] = String(a.value.stringValue ?? a.value.intValue ?? a.value.doubleValue);
  return out;
}

/**
 * Per service.instance.id, the backup series of the latest request that carried them, from the
 * Collector's file export. Each push of these few points is one request, so the latest one is a
 * complete picture of that bridge.
 */
function lastPushByInstance(
  documents: unknown[],
): Map<string, { resource: Record<string, string>; series: string[] }> {
  const out = new Map<string, { resource: Record<string, string>; series: string[] }>();
  for (const document of documents) {
    for (const rm of (document as OtlpDocument).resourceMetrics ?? []) {
      const resource = attributes(rm.resource?.attributes);
      const series: string[] = [];
      for (const sm of rm.scopeMetrics ?? [])
        for (const metric of sm.metrics ?? []) {
          if (!FAMILIES.includes(metric.name)) continue;
          for (const point of metric.gauge?.dataPoints ?? []) {
            // Flag 1 = no recorded value (a staleness marker), not a series.
            if ((point.flags ?? 0) & 1) continue;
            series.push(
              seriesLine(metric.name, attributes(point.attributes), point.asDouble ?? Number(point.asInt)),
            );
          }
        }
      if (series.length > 0)
        out.set(resource['service.instance.id'] ?? '', { resource, series: series.sort() });
    }
  }
  return out;
}

describe('sharded bridges pushing OTLP into one real Collector', () => {
  let dir: string;
  let collector: CollectorHandle;
  const uids: { name: string; uid: string }[] = [];
  let unsharded: BridgeHandle;
  let shards: BridgeHandle[] = [];

  const pushEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
    otlpPushEnv(collector, 500, { OTEL_EXPORTER_OTLP_TIMEOUT: '2000', OTEL_SERVICE_NAME: SERVICE, ...extra });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-otlp-shards-'));
    // The files source shards by metadata.uid like the kubernetes source, so objects with UIDs
    // spread over the shards as they would in a cluster.
    for (let i = 0; i < OBJECTS; i++) {
      const uid = randomUUID();
      uids.push({ name: `b-${i}`, uid });
      writeFileSync(
        path.join(dir, `b-${i}.yaml`),
        `apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: b-${i}, namespace: ns-${i % 3}, uid: ${uid} }
spec: { target: "s3://bucket/${i}" }
status: { phase: ${i % 4 === 0 ? 'Failed' : 'Completed'}, sizeBytes: ${i * 512}, startTime: "2026-02-09T10:00:00Z", endTime: "2026-02-09T10:0${i % 10}:00Z" }
`,
      );
    }
    collector = await startCollector();
    const config = path.join(repoRoot, 'examples/backup/config.yaml');
    const start = (extraArgs: string[], env: NodeJS.ProcessEnv) =>
      startBridge({ config, source: `files:${dir}`, extraArgs, env });
    // The unsharded reference pushes too, under an instance id of its own.
    [unsharded, ...shards] = await Promise.all([
      start([], pushEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=unsharded' })),
      ...Array.from({ length: TOTAL }, (_, n) =>
        start([`--shard=${n}`, `--total-shards=${TOTAL}`], pushEnv()),
      ),
    ]);
  });

  after(async () => {
    await Promise.allSettled([unsharded, ...shards].filter(Boolean).map((b) => b.stop()));
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each shard pushes service.instance.id=shard-N with exactly its own series; together they equal the unsharded bridge', async () => {
    const whole = await scraped(unsharded);
    assert.equal(whole.length, OBJECTS * FAMILIES.length);
    const own = await Promise.all(shards.map(scraped));
    const instances = ['unsharded', ...shards.map((_, n) => `shard-${n}`)];
    const docs = await collector.waitForFileExport((d) => {
      const pushed = lastPushByInstance(d);
      return instances.every(
        (id, i) => pushed.get(id)?.series.length === (i === 0 ? whole : own[i - 1]!).length,
      );
    }, 30_000);
    const pushed = lastPushByInstance(docs);
    assert.deepEqual(
      [...pushed.keys()].sort(),
      [...instances].sort(),
      'one resource per bridge, none without an id',
    );
    assert.deepEqual(pushed.get('unsharded')!.series, whole);
    for (const [n, shard] of own.entries()) {
      const { resource, series } = pushed.get(`shard-${n}`)!;
      assert.equal(resource['service.name'], SERVICE);
      assert.equal(resource['service.instance.id'], `shard-${n}`);
      // The pushed points are the shard's own /metrics, and exactly the objects KSM's
      // jump(fnv64a(uid)) puts in that shard.
      assert.deepEqual(series, shard, `shard-${n} push = its scrape`);
      const expectedNames = uids
        .filter((o) => shardOf(o.uid, TOTAL) === n)
        .map((o) => o.name)
        .sort();
      const pushedNames = [...new Set(series.map((l) => /name="([^"]+)"/.exec(l)![1]!))].sort();
      assert.deepEqual(pushedNames, expectedNames, `shard-${n} objects`);
      assert.ok(series.length > 0 && series.length < whole.length, `shard-${n} holds a strict part`);
    }
    // Disjoint, and the union is the unsharded set.
    const union = own.flat().sort();
    assert.equal(new Set(union).size, union.length, 'a series pushed by two shards');
    assert.deepEqual(union, whole);
  });

  it("the Collector's Prometheus exporter maps service.instance.id to `instance`: the shards do not collide", async () => {
    const own = await Promise.all(shards.map(scraped));
    const whole = await scraped(unsharded);
    const exposed = await until(
      'every bridge in the Collector exporter',
      async () => {
        const body = (await httpRequest(`${collector.prometheusUrl}/metrics`)).body;
        const byInstance = exposedByInstance(body);
        return byInstance.get('unsharded')?.length === whole.length &&
          own.every((s, n) => byInstance.get(`shard-${n}`)?.length === s.length)
          ? byInstance
          : undefined;
      },
      30_000,
    );
    assert.deepEqual([...exposed.keys()].sort(), ['shard-0', 'shard-1', 'shard-2', 'unsharded']);
    for (const [n, shard] of own.entries()) assert.deepEqual(exposed.get(`shard-${n}`), shard);
    assert.deepEqual(exposed.get('unsharded'), whole);
    assert.deepEqual([0, 1, 2].flatMap((n) => exposed.get(`shard-${n}`)!).sort(), exposed.get('unsharded'));
  });
});
