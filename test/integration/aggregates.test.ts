// Aggregates against a real kube-apiserver: random creates, updates and deletes of Foos (with an
// API server restart in the middle, objects changing meanwhile through a second API server), the
// bridge scraped all along. Every scrape must be one consistent state: the count by namespace and
// phase equals the per-object series counted the same way, and the replicas sum equals the
// per-object replicas summed; once settled, both equal what the API server holds. Then the same
// aggregates pushed by OTLP into Prometheus 3 equal the pulled ones, and a vanished group ends.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle, KubectlResult } from '../harness/kubeApiserver.ts';
import { freePort } from '../harness/ports.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { seriesSet } from '../support/seriesSet.ts';
import { until } from '../support/until.ts';

const EXAMPLE = path.join(repoRoot, 'examples', 'aggregations');
const NAMESPACES = ['team-a', 'team-b', 'team-c'];
const PHASES = ['Pending', 'Running', 'Failed', undefined] as const;
const NAMES_PER_NAMESPACE = 8;

/** The example config, plus a per-object replicas gauge so every scrape can check the sum. */
function testConfig(): string {
  return (
    readFileSync(path.join(EXAMPLE, 'foos.yaml'), 'utf8') +
    `        - name: foo_replicas
          help: spec.replicas of each Foo.
          labelsFromPath:
            name: [metadata, name]
          each:
            type: Gauge
            gauge:
              path: [spec]
              valueFrom: [replicas]
`
  );
}

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Foo {
  namespace: string;
  name: string;
  phase: string | undefined;
  replicas: number | undefined;
}

function manifest(foos: readonly Foo[]): string {
  return foos
    .map((f) =>
      [
        'apiVersion: bench.example.com/v1',
        'kind: Foo',
        `metadata: { name: ${f.name}, namespace: ${f.namespace} }`,
        `spec: ${f.replicas === undefined ? '{}' : `{ replicas: ${f.replicas} }`}`,
        `status: ${f.phase === undefined ? '{}' : `{ phase: ${f.phase} }`}`,
      ].join('\n'),
    )
    .join('\n---\n');
}

/** Parses `name{labels} value` sample lines of one family into label maps and values. */
function parse(exposition: string, family: string): { labels: Record<string, string>; value: number }[] {
  return samples(exposition, `${family}{`)
    .concat(samples(exposition, `${family} `))
    .map((line) => {
      const value = Number(line.slice(line.lastIndexOf(' ') + 1).replace('+Inf', 'Infinity'));
      const open = line.indexOf('{');
      const labels: Record<string, string> = {};
      if (open >= 0)
        for (const m of line.slice(open + 1, line.lastIndexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
          labels[m[1]!] = m[2]!;
      return { labels, value };
    });
}

/** `fn by (keys)` over the samples, as `k=v,... value` lines, sorted (missing labels are empty). */
function by(
  rows: { labels: Record<string, string>; value: number }[],
  keys: readonly string[],
  fn: 'count' | 'sum',
): string[] {
  const groups = new Map<string, number>();
  for (const r of rows) {
    const key = keys.map((k) => `${k}=${r.labels[k] ?? ''}`).join(',');
    groups.set(key, (groups.get(key) ?? 0) + (fn === 'count' ? 1 : r.value));
  }
  return [...groups].map(([k, v]) => `${k} ${v}`).sort();
}

/** The aggregate family's own series in the same form. */
function served(
  rows: { labels: Record<string, string>; value: number }[],
  keys: readonly string[],
): string[] {
  return rows.map((r) => `${keys.map((k) => `${k}=${r.labels[k] ?? ''}`).join(',')} ${r.value}`).sort();
}

/** What one scrape says, checked against itself. */
function checkScrape(body: string): { phases: string[]; replicas: string[] } {
  const perObject = parse(body, 'kube_customresource_foo_phase');
  const counted = by(perObject, ['namespace', 'phase'], 'count');
  const phases = served(parse(body, 'kube_customresource_foos'), ['namespace', 'phase']);
  assert.deepEqual(phases, counted, 'kube_customresource_foos = count by (namespace, phase) (foo_phase)');
  const summed = by(parse(body, 'kube_customresource_foo_replicas'), ['namespace'], 'sum');
  const replicas = served(parse(body, 'kube_customresource_foo_replicas_sum'), ['namespace']);
  assert.deepEqual(
    replicas,
    summed,
    'kube_customresource_foo_replicas_sum = sum by (namespace) (foo_replicas)',
  );
  return { phases, replicas };
}

describe('aggregates against a real kube-apiserver, through random changes and a restart', () => {
  let api: KubeApiserverHandle;
  let bridge: BridgeHandle | undefined;
  let work: string;
  const kubectl = async (args: string[], input?: string): Promise<KubectlResult> => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bridge-aggregates-'));
    api = await startKubeApiserver();
    // Without the status subresource, `apply` sets status too (the test plays the controller).
    const crd = readFileSync(path.join(EXAMPLE, 'foos-crd.yaml'), 'utf8').replace(
      '      subresources: { status: {} }\n',
      '',
    );
    await kubectl(['apply', '-f', '-'], crd);
    await kubectl(['wait', '--for=condition=Established', 'crd/foos.bench.example.com', '--timeout=30s']);
    for (const ns of NAMESPACES) await kubectl(['create', 'namespace', ns]);
    writeFileSync(path.join(work, 'config.yaml'), testConfig());
  });

  after(async () => {
    await bridge?.stop();
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('every scrape is consistent, and once settled equals the API server', async () => {
    const seed = Number(process.env.AGGREGATES_SEED ?? Date.now() % 100_000);
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    bridge = await startBridge({
      config: path.join(work, 'config.yaml'),
      source: 'kubernetes',
      extraArgs: [`--kubeconfig=${api.adminKubeconfigPath}`],
    });
    const b = bridge;

    // A scraper checks every scrape while the changes go on.
    let scraping = true;
    let scrapes = 0;
    const scraper = (async () => {
      while (scraping) {
        const r = await b.scrape().catch(() => undefined);
        if (r?.status === 200) {
          checkScrape(r.body);
          scrapes++;
        }
        await delay(20);
      }
    })();

    /** One round of random changes: a batch of applies, then a batch of deletes. */
    const round = async (run: (args: string[], input?: string) => Promise<KubectlResult>) => {
      const changed: Foo[] = [];
      for (let i = 0; i < 12; i++)
        changed.push({
          namespace: pick(NAMESPACES),
          name: `foo-${Math.floor(random() * NAMES_PER_NAMESPACE)}`,
          phase: pick(PHASES),
          replicas: random() < 0.15 ? undefined : Math.floor(random() * 6),
        });
      // The last change of a name wins, as in the apply.
      const byKey = new Map(changed.map((f) => [`${f.namespace}/${f.name}`, f]));
      await run(['apply', '-f', '-'], manifest([...byKey.values()]));
      const ns = pick(NAMESPACES);
      const doomed = [0, 1, 2].map(() => `foo-${Math.floor(random() * NAMES_PER_NAMESPACE)}`);
      await run(['delete', 'foos.bench.example.com', '-n', ns, '--ignore-not-found', ...new Set(doomed)]);
    };

    try {
      for (let i = 0; i < 6; i++) await round(kubectl);
      // The bridge's API server goes away; objects change through a second one meanwhile.
      const second = await api.startSecondApiserver();
      await api.stopApiserver();
      const viaSecond = async (args: string[], input?: string) => {
        const r = await second.kubectl(args, input === undefined ? {} : { input });
        assert.equal(r.code, 0, `kubectl ${args.join(' ')} (second API server) failed: ${r.stderr}`);
        return r;
      };
      for (let i = 0; i < 3; i++) await round(viaSecond);
      await api.startApiserver();
      await second.stop();
      for (let i = 0; i < 6; i++) await round(kubectl);

      // Settled: what the API server holds, counted and summed.
      const list = JSON.parse(
        (await kubectl(['get', 'foos.bench.example.com', '-A', '-o', 'json'])).stdout,
      ) as {
        items: {
          metadata: { namespace: string };
          spec?: { replicas?: number };
          status?: { phase?: string };
        }[];
      };
      const truth = list.items.map((o) => ({
        labels: {
          namespace: o.metadata.namespace,
          ...(o.status?.phase ? { phase: o.status.phase } : {}),
        },
        value: o.spec?.replicas ?? NaN,
      }));
      const expectedPhases = by(truth, ['namespace', 'phase'], 'count');
      const expectedReplicas = by(
        truth.filter((t) => !Number.isNaN(t.value)),
        ['namespace'],
        'sum',
      );
      const last = await until(
        `the bridge to settle on the API server's ${list.items.length} Foos (seed ${seed})`,
        async () => {
          const s = checkScrape((await b.scrape()).body);
          return JSON.stringify(s.phases) === JSON.stringify(expectedPhases) &&
            JSON.stringify(s.replicas) === JSON.stringify(expectedReplicas)
            ? s
            : undefined;
        },
        60_000,
      );
      assert.deepEqual(last.phases, expectedPhases);
      assert.deepEqual(last.replicas, expectedReplicas);
    } finally {
      scraping = false;
      await scraper;
    }
    assert.ok(scrapes >= 10, `${scrapes} scrapes checked (seed ${seed})`);
  });
});

describe('aggregates pushed by OTLP into Prometheus 3', () => {
  it('equal the pulled ones, and a group that vanishes ends on both paths', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-aggregates-otlp-'));
    const objects = path.join(dir, 'objects');
    mkdirSync(objects);
    writeFileSync(path.join(objects, 'foos.yaml'), readFileSync(path.join(EXAMPLE, 'objects', 'foos.yaml')));
    const port = await freePort();
    const bridge = await startBridge({
      config: path.join(EXAMPLE, 'foos.yaml'),
      source: `files:${objects}`,
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${port}/api/v1/otlp/v1/metrics`,
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_SERVICE_NAME: 'pushed',
        OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=bridge-0',
      },
    });
    const prometheus = await startPrometheus({
      port,
      scrapeTargets: [bridge.address],
      jobName: 'scraped',
      honorLabels: true,
      otlp: { translation_strategy: 'NoUTF8EscapingWithSuffixes' },
    });
    try {
      for (const [family, n] of [
        ['kube_customresource_foos', 4],
        ['kube_customresource_foo_replicas_sum', 2],
      ] as const) {
        const scraped = await prometheus.waitForSeries(`${family}{job="scraped"}`, (s) => s.length === n);
        const pushed = await prometheus.waitForSeries(`${family}{job="pushed"}`, (s) => s.length === n);
        assert.deepEqual(seriesSet(pushed), seriesSet(scraped), family);
      }
      // The only Pending Foo (team-b/d) goes: its group vanishes from both paths.
      const documents = readFileSync(path.join(EXAMPLE, 'objects', 'foos.yaml'), 'utf8').split('---\n');
      writeFileSync(
        path.join(objects, 'foos.yaml'),
        documents.filter((d) => !d.includes('name: d,')).join('---\n'),
      );
      await until('the bridge to drop the Pending group', async () =>
        samples((await bridge.scrape()).body, 'kube_customresource_foos{').length === 3 ? true : undefined,
      );
      for (const job of ['scraped', 'pushed'])
        await prometheus.waitForSeries(
          `count(kube_customresource_foos{job="${job}"}) == 3`,
          undefined,
          10_000,
        );
      assert.deepEqual(await prometheus.query(`kube_customresource_foos{job="pushed", phase="Pending"}`), []);
    } finally {
      await prometheus.stop();
      await bridge.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
