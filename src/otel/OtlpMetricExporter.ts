import type { HrTime } from '@opentelemetry/api';
import { ExportResultCode, millisToHrTime } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  InstrumentType,
} from '@opentelemetry/sdk-metrics';
import type {
  AggregationOption,
  AggregationTemporalitySelector,
  MetricData,
  PushMetricExporter,
  ResourceMetrics,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { isPrerendered, PRERENDERED } from './CustomResourceMetricProducer.ts';
import type { PrerenderedMetricData } from './CustomResourceMetricProducer.ts';
import { OtlpRequestEncoder } from './OtlpRequestEncoder.ts';
import type { MetricHeader, OtlpEncoding, ScopeHeader } from './OtlpRequestEncoder.ts';
import { StaleSeriesTracker } from './StaleSeriesTracker.ts';
import { Slicer } from '../runtime/Slicer.ts';

/** One HTTP request's body, as handed to the OTel HTTP transport. */
export interface EncodedRequest {
  readonly body: Uint8Array;
  readonly points: number;
}

export interface OtlpMetricExporterOptions {
  readonly encoding: OtlpEncoding;
  /** The OTel HTTP transport (retries, timeout, compression, headers, TLS) with a pass-through serializer. */
  readonly delegate: IOtlpExportDelegate<EncodedRequest>;
  /** The user's temporality preference (counters); gauges are always exported as they are now. */
  readonly temporality: AggregationTemporalitySelector;
  /** How histograms are aggregated for this exporter. @default 'exponential' */
  readonly histogram?: 'exponential' | 'explicit';
  /** Data points per HTTP request. @default 20000 */
  readonly maxPointsPerRequest?: number;
  /** Encoding work between two turns of the event loop, in ms. @default 10 */
  readonly sliceMillis?: number;
  /** Undelivered staleness markers kept for the next export. @default 100000 */
  readonly maxPendingMarkers?: number;
}

/** What the last export did (for logs, tests and benchmarks). */
export interface ExportStats {
  readonly requests: number;
  readonly points: number;
  readonly markers: number;
  readonly bytes: number;
  /** Longest synchronous stretch while encoding, in ms of wall time and of main-thread CPU. */
  readonly longestSliceMs: number;
  readonly longestSliceCpuMs: number;
}

/**
 * The OTLP push of one periodic reader. Custom-resource families are read from the cache's
 * prerendered blocks and encoded in time slices into requests of at most `maxPointsPerRequest`
 * points, sent one after the other: the event loop is never blocked for long and memory holds one
 * request at a time, whatever the number of objects. Series exported last time and gone now are
 * sent once more with the NoRecordedValue flag (a staleness marker, which Prometheus' OTLP
 * receiver stores as its stale NaN), then forgotten. The bridge's own metrics (few points) go
 * through the SDK's serializer in the first request.
 */
export class OtlpMetricExporter implements PushMetricExporter {
  private readonly _o: OtlpMetricExporterOptions;
  private readonly _maxPoints: number;
  private readonly _tracker: StaleSeriesTracker;
  private _running: Promise<void> | undefined;
  private _encoder: OtlpRequestEncoder | undefined;
  private _shutdown = false;
  lastExport: ExportStats | undefined;

  constructor(options: OtlpMetricExporterOptions) {
    this._o = options;
    this._maxPoints = options.maxPointsPerRequest ?? 20_000;
    this._tracker = new StaleSeriesTracker(options.maxPendingMarkers);
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this._shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    if (this._running) {
      // The reader timed out waiting for the previous export, which is still sending: never run
      // two at once (they would interleave their series and confuse the staleness bookkeeping).
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('previous OTLP export still running'),
      });
      return;
    }
    this._running = this._export(metrics).then(resultCallback, (error: unknown) =>
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error }),
    );
    void this._running.finally(() => (this._running = undefined));
  }

  private async _export(metrics: ResourceMetrics): Promise<ExportResult> {
    const slicer = new Slicer({ sliceMs: this._o.sliceMillis ?? 10, checkEvery: 128 }).measureCpu();
    const tracker = this._tracker;
    tracker.begin();
    const resource = metrics.resource.attributes;
    const sdkScopes: ScopeMetrics[] = [];
    const families: { scope: ScopeHeader; metric: PrerenderedMetricData }[] = [];
    for (const sm of metrics.scopeMetrics) {
      const scope = { name: sm.scope.name, version: sm.scope.version };
      const plain = sm.metrics.filter((m) => !isPrerendered(m));
      if (plain.length > 0) sdkScopes.push({ scope: sm.scope, metrics: plain });
      for (const m of sm.metrics) if (isPrerendered(m)) families.push({ scope, metric: m });
    }
    // Time of this collection, for live points and markers alike.
    const time: HrTime = families[0]?.metric[PRERENDERED].time ?? millisToHrTime(Date.now());
    // Start of the custom-resource series (the producer's), also used for every marker.
    const start: HrTime = families[0]?.metric[PRERENDERED].startTime ?? time;
    for (const sm of sdkScopes) {
      for (const m of sm.metrics) {
        const header = sdkHeader(m);
        if (!header) continue;
        for (const p of m.dataPoints)
          tracker.sdkPoint({ name: sm.scope.name, version: sm.scope.version }, header, p.attributes);
      }
    }

    let requests = 0;
    let points = 0;
    let bytes = 0;
    let failure: Error | undefined;
    // One encoder for every request of every export (exports never overlap): its buffers are
    // reused, see OtlpRequestEncoder.reset.
    const encoder = (this._encoder ??= new OtlpRequestEncoder(this._o.encoding, resource));
    encoder.reset(resource);
    let sdkPart: ScopeMetrics[] | undefined = sdkScopes;
    const send = async (): Promise<void> => {
      let count = encoder.pointCount;
      let body = count > 0 ? encoder.finish() : undefined;
      if (sdkPart && sdkPart.length > 0) {
        body = this._withSdkPart(body, { resource: metrics.resource, scopeMetrics: sdkPart });
        count += sdkPart.reduce((n, s) => n + s.metrics.reduce((k, m) => k + m.dataPoints.length, 0), 0);
      }
      sdkPart = undefined;
      try {
        if (count === 0 || body === undefined) return;
        requests++;
        points += count;
        bytes += body.length;
        slicer.end();
        const result = await this._send({ body, points: count });
        slicer.resume();
        if (result.code !== ExportResultCode.SUCCESS)
          failure ??= result.error ?? new Error('OTLP export failed');
      } finally {
        // The body is a view of the encoder's buffers: they are reused only once its send is over.
        encoder.reset(resource);
      }
    };

    for (const { scope, metric } of families) {
      const { family, blocks } = metric[PRERENDERED];
      const header: MetricHeader = {
        name: family.name,
        description: family.help,
        unit: metric.descriptor.unit,
      };
      const see = tracker.family(scope, header);
      encoder.beginMetric(scope, header);
      for (const block of blocks()) {
        see(block);
        for (const p of block.points) encoder.point(p.attributes, p.value, start, time);
        if (encoder.pointCount >= this._maxPoints) {
          await send();
          encoder.beginMetric(scope, header);
        }
        if (slicer.due()) await slicer.pause();
      }
    }

    const markers = await tracker.markers(slicer);
    for (const m of markers) {
      // One Metric message per marker: the Collector's prometheus exporter (v0.155) stops reading
      // a metric's points at its first NoRecordedValue point, so markers sharing one message would
      // be lost but the first. A marker's metric header costs tens of bytes; markers are rare.
      encoder.beginMetric(m.scope, m.metric);
      encoder.point(m.attributes, undefined, start, time);
      if (encoder.pointCount >= this._maxPoints) await send();
      if (slicer.due()) await slicer.pause();
    }
    await send();
    slicer.end();
    tracker.commit(markers, failure === undefined);
    this.lastExport = {
      requests,
      points,
      markers: markers.length,
      bytes,
      longestSliceMs: slicer.longestSliceMs,
      longestSliceCpuMs: slicer.longestSliceCpuMs,
    };
    return failure ? { code: ExportResultCode.FAILED, error: failure } : { code: ExportResultCode.SUCCESS };
  }

  /** Adds the SDK-produced metrics (the bridge's own) to a request, through the SDK's serializer. */
  private _withSdkPart(body: Uint8Array | undefined, sdk: ResourceMetrics): Uint8Array | undefined {
    if (this._o.encoding === 'protobuf') {
      // ExportMetricsServiceRequest is one repeated field: two encoded requests concatenated are
      // one request holding both ResourceMetrics.
      const theirs = ProtobufMetricsSerializer.serializeRequest(sdk);
      if (!theirs) return body;
      return body ? Buffer.concat([theirs, body]) : theirs;
    }
    const theirs = JsonMetricsSerializer.serializeRequest(sdk);
    if (!theirs || !body) return theirs ?? body;
    const a = JSON.parse(Buffer.from(theirs).toString('utf8')) as { resourceMetrics: unknown[] };
    const b = JSON.parse(Buffer.from(body).toString('utf8')) as { resourceMetrics: unknown[] };
    return Buffer.from(JSON.stringify({ resourceMetrics: [...a.resourceMetrics, ...b.resourceMetrics] }));
  }

  private _send(request: EncodedRequest): Promise<ExportResult> {
    return new Promise((resolve) => this._o.delegate.export(request, resolve));
  }

  async forceFlush(): Promise<void> {
    await this._running;
    await this._o.delegate.forceFlush();
  }

  async shutdown(): Promise<void> {
    this._shutdown = true;
    await this._running;
    await this._o.delegate.shutdown();
  }

  /**
   * Gauges use delta collection: for a gauge it changes no value, but the SDK then reports only
   * the attribute sets observed in this collection, so a vanished one can be marked stale (with
   * cumulative collection the SDK repeats its last value forever).
   */
  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    if (instrumentType === InstrumentType.OBSERVABLE_GAUGE || instrumentType === InstrumentType.GAUGE)
      return AggregationTemporality.DELTA;
    return this._o.temporality(instrumentType);
  }

  /**
   * Histograms as base-2 exponential histograms (native histograms in Prometheus 3), unless the
   * explicit buckets of the Prometheus exposition were asked for.
   */
  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    if (instrumentType === InstrumentType.HISTOGRAM && (this._o.histogram ?? 'exponential') === 'exponential')
      return { type: AggregationType.EXPONENTIAL_HISTOGRAM };
    return { type: AggregationType.DEFAULT };
  }

  /** Series remembered for staleness markers (for benchmarks). */
  get rememberedBlocks(): number {
    return this._tracker.rememberedBlocks;
  }
}

function sdkHeader(m: MetricData): MetricHeader | undefined {
  const base = { name: m.descriptor.name, description: m.descriptor.description, unit: m.descriptor.unit };
  if (m.dataPointType === DataPointType.GAUGE) return base;
  if (m.dataPointType === DataPointType.SUM) {
    return {
      ...base,
      sum: {
        temporality: m.aggregationTemporality === AggregationTemporality.DELTA ? 1 : 2,
        monotonic: m.isMonotonic,
      },
    };
  }
  // Histograms: markers are not sent for them (none of the bridge's own metrics vanish).
  return undefined;
}
