import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import { CumulativeTemporalitySelector } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ObjectErrors } from '../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../src/engine/store/SeriesCache.ts';
import { CustomResourceMetricProducer, unitOf } from '../../src/otel/CustomResourceMetricProducer.ts';
import { OtlpMetricExporter } from '../../src/otel/OtlpMetricExporter.ts';
import type { EncodedRequest } from '../../src/otel/OtlpMetricExporter.ts';
import { OtlpRequestEncoder } from '../../src/otel/OtlpRequestEncoder.ts';
import { backupObject, compileText, PATH_CONFIG } from '../../bench/engineBench.ts';
import { decodeMetricsRequest, pointsByseries } from '../support/otlpWire.ts';
import type { DecodedPoint } from '../support/otlpWire.ts';

/** The OTel HTTP transport's seam: records each request body; fails while `failing` is set. */
class RecordingDelegate implements IOtlpExportDelegate<EncodedRequest> {
  requests: Uint8Array[] = [];
  failing = false;
  /** How long each send takes (0: it completes at once). */
  sendMillis = 0;
  /** Bodies whose bytes changed between the send's start and its completion. */
  changedInFlight = 0;
  export(request: EncodedRequest, done: (r: ExportResult) => void): void {
    if (this.failing) {
      done({ code: ExportResultCode.FAILED, error: new Error('collector down') });
      return;
    }
    // A copy, as a transport has sent the bytes by the time it calls `done`: the exporter reuses
    // its buffers for the next request after that.
    this.requests.push(Uint8Array.from(request.body));
    if (this.sendMillis === 0) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    // A slow send: the body must not change while it is in flight.
    const sent = Uint8Array.from(request.body);
    setTimeout(() => {
      if (!Buffer.from(sent).equals(Buffer.from(request.body))) this.changedInFlight++;
      done({ code: ExportResultCode.SUCCESS });
    }, this.sendMillis);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  setMetrics(): void {}
}

const ALT_CONFIG = PATH_CONFIG.replace(/ {8}- name: backup_size_bytes\n.*\n.*\n/, '');

function pipeline(maxPointsPerRequest = 20_000) {
  let cache = new SeriesCache(compileText(PATH_CONFIG).families);
  let ingestor = new ObjectIngestor(compileText(PATH_CONFIG), cache, new ObjectErrors());
  const producer = new CustomResourceMetricProducer(() => cache);
  const delegate = new RecordingDelegate();
  const exporter = new OtlpMetricExporter({
    encoding: 'protobuf',
    delegate,
    temporality: CumulativeTemporalitySelector,
    maxPointsPerRequest,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: 3_600_000,
    metricProducers: [producer],
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'unit' }),
    readers: [reader],
  });
  /** One export; returns its data points by series. */
  const push = async (): Promise<Map<string, DecodedPoint>> => {
    delegate.requests = [];
    await reader.forceFlush();
    return pointsByseries(delegate.requests);
  };
  /** Replaces the config and cache (what a reload does), refilled with `objects`. */
  const reload = (configText: string, objects: number[]) => {
    const config = compileText(configText);
    cache = new SeriesCache(config.families);
    ingestor = new ObjectIngestor(config, cache, new ObjectErrors());
    for (const i of objects) ingestor.upsertNow('test', `o${i}`, backupObject(i));
  };
  return {
    get ingestor() {
      return ingestor;
    },
    delegate,
    exporter,
    provider,
    push,
    reload,
  };
}

const sizeOf = (i: number, target = `s3://bucket-${i % 10}/path`) =>
  `backup_size_bytes{name=backup-${i},namespace=ns-${i % 50},target=${target}}`;

describe('OTLP push: staleness markers and time-sliced batches', () => {
  it('a deleted object is pushed once more with NoRecordedValue and no value, then never again', async () => {
    const p = pipeline();
    try {
      for (const i of [1, 2, 3]) p.ingestor.upsertNow('test', `o${i}`, backupObject(i));
      const first = await p.push();
      assert.equal(first.size, 9);
      assert.equal(first.get(sizeOf(2))?.asDouble, 1048578);
      assert.equal(first.get(sizeOf(2))?.flags, undefined);

      p.ingestor.delete('test', 'o2');
      const second = await p.push();
      assert.equal(second.size, 9, 'two live objects (6 points) and 3 markers');
      const marker = second.get(sizeOf(2))!;
      assert.equal(marker.flags, 1);
      assert.equal(marker.asDouble, undefined, 'a marker carries no value');
      assert.equal(marker.time, second.get(sizeOf(1))!.time, 'stamped with this collection');
      assert.equal(marker.start, first.get(sizeOf(2))!.start, 'same start as the series');
      assert.ok(marker.time > first.get(sizeOf(2))!.time);

      const third = await p.push();
      assert.equal(third.size, 6);
      assert.equal(third.get(sizeOf(2)), undefined);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('a changed value is no marker; a changed label set marks the old set only', async () => {
    const p = pipeline();
    try {
      p.ingestor.upsertNow('test', 'o1', backupObject(1));
      await p.push();
      const o = backupObject(1) as { metadata: Record<string, unknown>; status: Record<string, unknown> };
      const changedObject = { ...o, metadata: { ...o.metadata, resourceVersion: '2001' } };
      p.ingestor.upsertNow('test', 'o1', { ...changedObject, status: { ...o.status, sizeBytes: 5 } });
      const changed = await p.push();
      assert.equal(changed.size, 3);
      assert.equal(changed.get(sizeOf(1))?.asDouble, 5);
      assert.equal(changed.get(sizeOf(1))?.flags, undefined);

      p.ingestor.upsertNow('test', 'o1', {
        ...changedObject,
        metadata: { ...o.metadata, resourceVersion: '2002' },
        status: { ...o.status, sizeBytes: 5 },
        spec: { target: 's3://elsewhere' },
      });
      const relabelled = await p.push();
      assert.equal(relabelled.get(sizeOf(1))?.flags, 1, 'old label set marked stale');
      assert.equal(relabelled.get(sizeOf(1, 's3://elsewhere'))?.asDouble, 5);
      assert.equal(relabelled.size, 6);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('a reload that drops a family marks all its series; the kept families carry on unmarked', async () => {
    const p = pipeline();
    try {
      for (const i of [1, 2]) p.ingestor.upsertNow('test', `o${i}`, backupObject(i));
      await p.push();
      p.reload(ALT_CONFIG, [1, 2]);
      const after = await p.push();
      const markers = [...after].filter(([, pt]) => pt.flags === 1).map(([k]) => k);
      assert.deepEqual(markers.sort(), [sizeOf(1), sizeOf(2)]);
      assert.equal(after.size, 6);
      assert.equal((await p.push()).size, 4);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('markers of a failed export are sent with the next one that succeeds', async () => {
    const p = pipeline();
    try {
      for (const i of [1, 2]) p.ingestor.upsertNow('test', `o${i}`, backupObject(i));
      await p.push();
      p.ingestor.delete('test', 'o2');
      p.delegate.failing = true;
      await p.push();
      p.delegate.failing = false;
      const next = await p.push();
      assert.equal(next.get(sizeOf(2))?.flags, 1);
      assert.equal((await p.push()).get(sizeOf(2)), undefined);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('splits into requests of at most maxPointsPerRequest points, each a complete request', async () => {
    const p = pipeline(10);
    try {
      for (let i = 0; i < 7; i++) p.ingestor.upsertNow('test', `o${i}`, backupObject(i));
      const all = await p.push();
      assert.equal(all.size, 21);
      assert.equal(p.delegate.requests.length, 3);
      for (const body of p.delegate.requests) {
        const [rm] = decodeMetricsRequest(body);
        assert.equal(rm?.resource['service.name'], 'unit');
        const n = rm.scopes.flatMap((s) => s.metrics).reduce((k, m) => k + m.points.length, 0);
        assert.ok(n <= 10, `${n} points in one request`);
      }
      assert.equal(p.exporter.lastExport?.requests, 3);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('reuses its buffers across requests and exports, but never while a send is in flight', async () => {
    const p = pipeline(10);
    try {
      p.delegate.sendMillis = 5;
      for (let i = 0; i < 7; i++) p.ingestor.upsertNow('test', `o${i}`, backupObject(i));
      const first = await p.push();
      assert.equal(first.size, 21);
      for (let i = 7; i < 12; i++) p.ingestor.upsertNow('test', `o${i}`, backupObject(i));
      const second = await p.push();
      assert.equal(second.size, 36);
      assert.equal(p.delegate.changedInFlight, 0);
      // Every request of the second export decodes on its own (no bytes of an earlier one left).
      for (const body of p.delegate.requests) assert.ok(decodeMetricsRequest(body).length === 1);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('the bridge’s own gauges: a vanished attribute set is marked once (the SDK forgets it)', async () => {
    const p = pipeline();
    try {
      const targets = new Set(['a', 'b']);
      p.provider
        .getMeter('crd-metrics-bridge')
        .createObservableGauge('crd_metrics_bridge_target_objects')
        .addCallback((r) => {
          for (const t of targets) r.observe(7, { target: t });
        });
      const first = await p.push();
      assert.equal(first.get('crd_metrics_bridge_target_objects{target=b}')?.asDouble, 7);
      targets.delete('b');
      const second = await p.push();
      assert.equal(second.get('crd_metrics_bridge_target_objects{target=a}')?.asDouble, 7);
      assert.equal(second.get('crd_metrics_bridge_target_objects{target=b}')?.flags, 1);
      const third = await p.push();
      assert.equal(third.get('crd_metrics_bridge_target_objects{target=b}'), undefined);
    } finally {
      await p.provider.shutdown();
    }
  });

  it('encodes what the SDK’s own serializer encodes for the same points (read back by an independent decoder)', () => {
    const resource = resourceFromAttributes({ 'service.name': 'x', n: 3, b: true });
    const start: [number, number] = [1_700_000_000, 123];
    const time: [number, number] = [1_700_000_060, 456_789];
    const attributes = {
      namespace: 'ns',
      name: 'ünïcode ✓ 😀',
      'a.b/c-d': '',
      long: 'é'.repeat(70),
      longer: 'x'.repeat(300),
      n: 42,
      ok: true,
    };
    const sdk = ProtobufMetricsSerializer.serializeRequest({
      resource,
      scopeMetrics: [
        {
          scope: { name: 'scope', version: '1.2' },
          metrics: [
            {
              descriptor: { name: 'm_seconds', description: 'help', unit: 's', valueType: ValueType.DOUBLE },
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.GAUGE,
              dataPoints: [{ attributes, startTime: start, endTime: time, value: -0.5 }],
            },
          ],
        },
      ],
    })!;
    const encoder = new OtlpRequestEncoder('protobuf', resource.attributes);
    encoder.beginMetric(
      { name: 'scope', version: '1.2' },
      { name: 'm_seconds', description: 'help', unit: 's' },
    );
    encoder.point(attributes, -0.5, start, time);
    assert.deepEqual(decodeMetricsRequest(encoder.finish()), decodeMetricsRequest(sdk));
  });

  it('keeps at most 16 MiB of spare buffers, and reused buffers encode the next request exactly', () => {
    const encoder = new OtlpRequestEncoder('protobuf', { 'service.name': 'x' });
    const long = 'v'.repeat(200);
    const request = (metrics: number, points: number) => {
      for (let m = 0; m < metrics; m++) {
        encoder.beginMetric({ name: 's' }, { name: `m_${m}`, description: '', unit: '' });
        for (let i = 0; i < points; i++) encoder.point({ name: `${long}${i}` }, i, [1, 0], [2, 0]);
      }
      const [rm] = decodeMetricsRequest(encoder.finish());
      const decoded = rm!.scopes.flatMap((sc) => sc.metrics);
      assert.equal(decoded.length, metrics);
      for (const d of decoded) assert.equal(d.points.length, points);
      encoder.reset();
    };
    // 60 metrics whose buffers grow to 512 KiB each (30 MiB in all): only 16 MiB of them are kept.
    request(60, 2_000);
    assert.ok(encoder.spareBytes > 0, 'buffers are kept for reuse');
    assert.ok(encoder.spareBytes <= 16 * 1024 * 1024, `${encoder.spareBytes} spare bytes`);
    // The next requests reuse them (longer and shorter contents than before) and decode exactly.
    request(3, 2_500);
    request(90, 10);
    assert.ok(encoder.spareBytes <= 16 * 1024 * 1024, `${encoder.spareBytes} spare bytes`);
  });

  it('OTLP/JSON: a marker has flags 1 and no value; a live point has asDouble', () => {
    const encoder = new OtlpRequestEncoder('json', { 'service.name': 'x' });
    encoder.beginMetric({ name: 's' }, { name: 'm', description: '', unit: '' });
    encoder.point({ name: 'a' }, 2, [1, 0], [2, 5]);
    encoder.point({ name: 'b' }, undefined, [1, 0], [2, 5]);
    const doc = JSON.parse(Buffer.from(encoder.finish()).toString('utf8')) as {
      resourceMetrics: {
        scopeMetrics: { metrics: { gauge: { dataPoints: Record<string, unknown>[] } }[] }[];
      }[];
    };
    const [live, marker] = doc.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.gauge.dataPoints;
    assert.equal(live!.asDouble, 2);
    assert.equal(live!.flags, undefined);
    assert.equal(marker!.flags, 1);
    assert.equal(marker!.asDouble, undefined);
    assert.equal(marker!.timeUnixNano, '2000000005');
  });

  it('units only where the name already ends with their suffix', () => {
    assert.equal(unitOf('backup_size_bytes'), 'By');
    assert.equal(unitOf('backup_end_timestamp_seconds'), 's');
    assert.equal(unitOf('backup_seconds_total'), '');
    assert.equal(unitOf('backup_status'), '');
  });
});
