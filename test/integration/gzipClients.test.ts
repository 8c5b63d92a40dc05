// The gzip body the bridge assembles from chunks compressed apart, read whole by every client that
// scrapes it: Prometheus 3's scraper, the Collector's prometheus receiver, curl --compressed,
// Python's gzip and Node's zlib. The objects are many enough for each family to span several
// chunks, so a client that stopped early would miss series.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { findBinary, repoRoot } from '../harness/binaries.ts';
import { freePort } from '../harness/ports.ts';
import { makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';
import { COLLECTOR_BINARY } from '../harness/collector.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusHandle } from '../harness/prometheus.ts';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';

const OBJECTS = 4000;
const CONFIG = path.join(repoRoot, 'bench', 'backup-5-series.yaml');
const SIZE_FAMILY = 'kube_customresource_backup_size_bytes';

function objectsYaml(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++)
    docs.push(`apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: backup-${i}, namespace: team-${i % 17} }
spec: { target: "s3://bucket-${i % 5}/backups/${i}" }
status: { phase: ${i % 7 === 0 ? 'Failed' : 'Completed'}, sizeBytes: ${1048576 + i}, startTime: "2026-02-09T10:00:00Z" }
`);
  return docs.join('---\n');
}

async function get(url: string, headers: Record<string, string>) {
  return new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A proxy that records the Accept-Encoding each scraper sent and the Content-Encoding it got. */
async function encodingProxy(target: string) {
  const seen: { acceptEncoding: string; contentEncoding: string; bytes: number }[] = [];
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      `http://${target}${req.url ?? '/'}`,
      { method: req.method, headers: { ...req.headers, host: target } },
      (up) => {
        let bytes = 0;
        up.on('data', (c: Buffer) => (bytes += c.length));
        up.on('end', () =>
          seen.push({
            acceptEncoding: String(req.headers['accept-encoding'] ?? ''),
            contentEncoding: String(up.headers['content-encoding'] ?? ''),
            bytes,
          }),
        );
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Collector binary with the prometheus receiver: the test peer if it has one, else one given. */
function collectorWithPrometheusReceiver(): string | undefined {
  const candidates = [process.env.CRD_BRIDGE_OTELCOL_PROMETHEUS_RECEIVER];
  try {
    candidates.push(findBinary(COLLECTOR_BINARY));
  } catch {
    // not built
  }
  return candidates.find((binary): binary is string => {
    if (!binary || !existsSync(binary)) return false;
    const components = spawnSync(binary, ['components'], { encoding: 'utf8' }).stdout;
    return /receiver\/prometheusreceiver/.test(components);
  });
}

describe('gzip scrapes read whole by every client', () => {
  let dir: string;
  let bridge: BridgeHandle;
  let plain: Buffer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bridge-gzip-'));
    mkdirSync(path.join(dir, 'objects'));
    writeFileSync(path.join(dir, 'objects', 'backups.yaml'), objectsYaml(OBJECTS));
    bridge = await startBridge({ config: CONFIG, source: `files:${path.join(dir, 'objects')}` });
    plain = (await get(`${bridge.url}/metrics`, {})).body;
    const sizeLines = plain
      .toString()
      .split('\n')
      .filter((l) => l.startsWith(SIZE_FAMILY + '{'));
    assert.equal(sizeLines.length, OBJECTS);
    assert.ok(plain.length > 1 << 20, `${plain.length} bytes: several chunks per family`);
  });

  after(async () => {
    await bridge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Node zlib, Python gzip and curl --compressed get the plain body byte for byte', async () => {
    for (const accept of [undefined, 'application/openmetrics-text;version=1.0.0']) {
      const headers: Record<string, string> = accept ? { accept } : {};
      const expected = (await get(`${bridge.url}/metrics`, headers)).body;
      const zipped = await get(`${bridge.url}/metrics`, { ...headers, 'accept-encoding': 'gzip' });
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.ok(zipped.body.length < expected.length / 4, 'compressed');
      assert.deepEqual(gunzipSync(zipped.body), expected, `node, ${accept ?? 'text'}`);

      const python = spawnSync(
        '/usr/bin/python3',
        ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'],
        { input: zipped.body, maxBuffer: 1 << 28 },
      );
      assert.equal(python.status, 0, python.stderr?.toString());
      assert.deepEqual(python.stdout, expected, `python, ${accept ?? 'text'}`);

      const curl = execFileSync(
        'curl',
        ['-sS', '--compressed', ...(accept ? ['-H', `Accept: ${accept}`] : []), `${bridge.url}/metrics`],
        { maxBuffer: 1 << 28 },
      );
      assert.deepEqual(curl, expected, `curl --compressed, ${accept ?? 'text'}`);
    }
  });

  describe('Prometheus 3', () => {
    let prometheus: PrometheusHandle;
    let proxies: Awaited<ReturnType<typeof encodingProxy>>[];

    before(async () => {
      proxies = [await encodingProxy(bridge.address), await encodingProxy(bridge.address)];
      prometheus = await startPrometheus({
        scrapeTargets: [proxies[0]!.address],
        jobName: 'text',
        scrapeProtocols: ['PrometheusText0.0.4'],
        extraJobs: [
          {
            jobName: 'openmetrics',
            targets: [proxies[1]!.address],
            scrapeProtocols: ['OpenMetricsText1.0.0'],
          },
        ],
      });
    });

    after(async () => {
      await prometheus?.stop();
      for (const p of proxies ?? []) await p.close();
    });

    it('ingests every series of a gzip body, in both formats', async () => {
      for (const job of ['text', 'openmetrics']) {
        await prometheus.waitForSeries(
          `count(${SIZE_FAMILY}{job="${job}"}) == ${OBJECTS}`,
          undefined,
          30_000,
        );
        const scraped = await prometheus.query(`scrape_samples_scraped{job="${job}"}`);
        assert.equal(scraped[0]?.value[1], String(5 * OBJECTS), job);
        const up = await prometheus.query(`up{job="${job}"}`);
        assert.equal(up[0]?.value[1], '1', job);
      }
      for (const proxy of proxies) {
        assert.ok(proxy.seen.length > 0);
        for (const s of proxy.seen) {
          assert.match(s.acceptEncoding, /gzip/);
          assert.equal(s.contentEncoding, 'gzip');
        }
      }
    });
  });

  it("the Collector's prometheus receiver ingests every series of a gzip body", async () => {
    const binary = collectorWithPrometheusReceiver();
    assert.ok(
      binary,
      'no Collector with the prometheus receiver: otel-config/collector-builder.yaml lists it, so run scripts/peers/install.sh (or set CRD_BRIDGE_OTELCOL_PROMETHEUS_RECEIVER)',
    );
    const proxy = await encodingProxy(bridge.address);
    const peerDir = makePeerDir('otelcol-promrx');
    const out = path.join(peerDir, 'export.jsonl');
    const telemetryPort = await freePort();
    const config = path.join(peerDir, 'config.yaml');
    writeFileSync(
      config,
      `receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: bridge
          scrape_interval: 1s
          static_configs: [{ targets: ['${proxy.address}'] }]
exporters:
  file: { path: ${out}, format: json, flush_interval: 100ms }
service:
  pipelines:
    metrics: { receivers: [prometheus], exporters: [file] }
  telemetry:
    metrics:
      level: basic
      readers: [{ pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${telemetryPort} } } } }]
`,
    );
    const proc = await startProcess({
      name: 'otelcol-promrx',
      command: binary,
      args: [`--config=file:${config}`],
      cwd: peerDir,
      logDir: peerDir,
      ready: { url: `http://127.0.0.1:${telemetryPort}/metrics` },
      startTimeoutMs: 30_000,
    });
    try {
      // The first export whose size family holds a data point per object.
      const points = await until(
        'the Collector to export a whole scrape',
        () => {
          if (!existsSync(out)) return Promise.resolve(undefined);
          for (const line of readFileSync(out, 'utf8').split('\n').reverse()) {
            if (!line.startsWith('{')) continue;
            const n = countPoints(JSON.parse(line) as OtlpJson, SIZE_FAMILY);
            if (n > 0) return Promise.resolve(n);
          }
          return Promise.resolve(undefined);
        },
        30_000,
      );
      assert.equal(points, OBJECTS);
      assert.ok(proxy.seen.length > 0 && proxy.seen.every((s) => s.contentEncoding === 'gzip'));
    } finally {
      await proc.stop();
      removePeerDir(peerDir);
      await proxy.close();
    }
  });
});

interface OtlpJson {
  resourceMetrics?: {
    scopeMetrics?: { metrics?: { name: string; gauge?: { dataPoints?: unknown[] } }[] }[];
  }[];
}

function countPoints(doc: OtlpJson, name: string): number {
  let n = 0;
  for (const rm of doc.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) if (m.name === name) n += m.gauge?.dataPoints?.length ?? 0;
  return n;
}
