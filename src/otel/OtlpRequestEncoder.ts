import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { ProtobufWriter, delimitedSize, fixed64Nanos, varintSize } from './ProtobufWriter.ts';

/** `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`: the series has no value any more (a staleness marker). */
export const NO_RECORDED_VALUE = 1;

export type OtlpEncoding = 'protobuf' | 'json';

export interface MetricHeader {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** OTLP data type: a Gauge, or a Sum with its temporality (1 delta, 2 cumulative). */
  readonly sum?: { readonly temporality: 1 | 2; readonly monotonic: boolean };
}

export interface ScopeHeader {
  readonly name: string;
  readonly version?: string | undefined;
}

type Time = readonly [number, number];

/**
 * Metric buffers kept for reuse: one request holds a few families, or many one-point markers. The
 * bytes are capped too, so buffers that grew for large families cannot pile up in the pool.
 */
const MAX_SPARE_WRITERS = 64;
const MAX_SPARE_BYTES = 16 * 1024 * 1024;

/**
 * Builds one ExportMetricsServiceRequest (OTLP/protobuf or OTLP/JSON) point by point, for number
 * data points (Gauge and Sum) with `flags`. The OTel JS transformer (otlp-transformer 0.301) never
 * writes the NumberDataPoint `flags` field, so staleness markers (NoRecordedValue) cannot go
 * through it; and it needs every data point as an object up front, where this encoder takes them
 * one at a time from the cache, so a batch costs only its own bytes.
 */
export class OtlpRequestEncoder {
  private readonly _encoding: OtlpEncoding;
  private _resource: Attributes;
  private _scopes: {
    scope: ScopeHeader;
    metrics: { header: MetricHeader; points: ProtobufWriter | object[] }[];
  }[] = [];
  private _points: ProtobufWriter | object[] | undefined;
  /**
   * Buffers of earlier requests, reused by the next ones: allocating each request's buffer afresh
   * made V8 run full collections of the whole heap at every export, long stalls at 1M series
   * (docs/benchmarks.md, "Figures behind the code").
   */
  private readonly _spare: ProtobufWriter[] = [];
  private _request: ProtobufWriter | undefined;
  private _count = 0;
  private _bytes = 0;
  private _timeCache: { time: Time; bytes: Uint8Array; text: string } | undefined;
  private _startCache: { time: Time; bytes: Uint8Array; text: string } | undefined;

  constructor(encoding: OtlpEncoding, resource: Attributes) {
    this._encoding = encoding;
    this._resource = resource;
  }

  /** Bytes held by the metric buffers kept for reuse (at most 16 MiB). */
  get spareBytes(): number {
    return this._spare.reduce((n, w) => n + w.capacity, 0);
  }

  /** Data points so far (live values and markers). */
  get pointCount(): number {
    return this._count;
  }

  /** Approximate size of the request so far (exact for protobuf data points). */
  get approximateBytes(): number {
    return this._bytes;
  }

  /** Starts a metric (a new scope when `scope` differs from the current one by name). */
  beginMetric(scope: ScopeHeader, header: MetricHeader): void {
    let current = this._scopes.at(-1);
    if (!current || current.scope.name !== scope.name || current.scope.version !== scope.version) {
      current = { scope, metrics: [] };
      this._scopes.push(current);
    }
    // Small to start, doubling as points come: a staleness marker is a Metric message of its own
    // with one point, and a large reservation for each made RSS climb during a Collector outage
    // with deletions (docs/benchmarks.md, "Figures behind the code").
    if (this._encoding === 'protobuf') {
      const spare = this._spare.pop();
      spare?.reset();
      this._points = spare ?? new ProtobufWriter(1024);
    } else this._points = [];
    current.metrics.push({ header, points: this._points });
  }

  /**
   * Starts the next request, reusing this one's buffers. Call it only once the body `finish()`
   * returned is no longer read (its send is over).
   */
  reset(resource: Attributes = this._resource): void {
    let spareBytes = this.spareBytes;
    for (const s of this._scopes)
      for (const m of s.metrics) {
        const w = m.points;
        if (!(w instanceof ProtobufWriter) || this._spare.length >= MAX_SPARE_WRITERS) continue;
        if (spareBytes + w.capacity > MAX_SPARE_BYTES) continue;
        spareBytes += w.capacity;
        this._spare.push(w);
      }
    this._scopes = [];
    this._points = undefined;
    this._count = 0;
    this._bytes = 0;
    this._resource = resource;
  }

  /** One data point of the current metric; `value` undefined writes a NoRecordedValue marker. */
  point(attributes: Attributes, value: number | undefined, start: Time, time: Time): void {
    const points = this._points;
    if (points === undefined) throw new Error('beginMetric() before point()');
    this._count++;
    if (Array.isArray(points)) {
      const p: Record<string, unknown> = {
        attributes: jsonAttributes(attributes),
        startTimeUnixNano: this._start(start).text,
        timeUnixNano: this._time(time).text,
      };
      if (value === undefined) p.flags = NO_RECORDED_VALUE;
      // proto3 JSON: non-finite doubles are the strings NaN, Infinity, -Infinity.
      else p.asDouble = Number.isFinite(value) ? value : String(value);
      points.push(p);
      this._bytes += 100;
      return;
    }
    const before = points.length;
    points.tag(1, 2);
    const at = points.startDelimited();
    for (const key in attributes) {
      const v = attributes[key];
      if (v === undefined || v === null) continue;
      points.tag(7, 2);
      const kv = points.startDelimited();
      points.string(1, key);
      points.tag(2, 2);
      const any = points.startDelimited();
      if (typeof v === 'string') points.string(1, v);
      else writeAnyValue(points, v);
      points.finishDelimited(any);
      points.finishDelimited(kv);
    }
    points.tag(2, 1);
    points.raw(this._start(start).bytes);
    points.tag(3, 1);
    points.raw(this._time(time).bytes);
    if (value === undefined) {
      points.tag(8, 0);
      points.varint(NO_RECORDED_VALUE);
    } else {
      points.tag(4, 1);
      points.double(value);
    }
    points.finishDelimited(at);
    this._bytes += points.length - before;
  }

  /** The request body, valid until `reset()`; write no more points before that. */
  finish(): Uint8Array {
    // A metric begun right before a request was cut has no points: leave it out.
    const scopes = this._scopes
      .map((s) => ({ scope: s.scope, metrics: s.metrics.filter((m) => m.points.length > 0) }))
      .filter((s) => s.metrics.length > 0);
    if (this._encoding === 'json') return Buffer.from(JSON.stringify(this._json(scopes)));
    const resourceContent = attributesFieldSize(this._resource);
    const scopeSizes = scopes.map((s) => {
      const metricSizes = s.metrics.map((m) =>
        metricContentSize(m.header, (m.points as ProtobufWriter).length),
      );
      const scopeContent = scopeMessageSize(s.scope);
      const content = delimitedSize(scopeContent) + metricSizes.reduce((a, n) => a + delimitedSize(n), 0);
      return { content, scopeContent, metricSizes };
    });
    const rmContent =
      delimitedSize(resourceContent) + scopeSizes.reduce((a, s) => a + delimitedSize(s.content), 0);
    const w = (this._request ??= new ProtobufWriter(delimitedSize(rmContent)));
    w.reset();
    w.tag(1, 2);
    w.varint(rmContent);
    w.tag(1, 2);
    w.varint(resourceContent);
    writeAttributes(w, 1, this._resource);
    scopes.forEach((s, i) => {
      const sizes = scopeSizes[i]!;
      w.tag(2, 2);
      w.varint(sizes.content);
      w.tag(1, 2);
      w.varint(sizes.scopeContent);
      writeString(w, 1, s.scope.name);
      if (s.scope.version) writeString(w, 2, s.scope.version);
      s.metrics.forEach((m, j) => {
        const points = m.points as ProtobufWriter;
        w.tag(2, 2);
        w.varint(sizes.metricSizes[j]!);
        writeString(w, 1, m.header.name);
        if (m.header.description) writeString(w, 2, m.header.description);
        if (m.header.unit) writeString(w, 3, m.header.unit);
        w.tag(m.header.sum ? 7 : 5, 2);
        w.varint(dataSize(m.header, points.length));
        w.raw(points.view());
        if (m.header.sum) {
          w.tag(2, 0);
          w.varint(m.header.sum.temporality);
          if (m.header.sum.monotonic) {
            w.tag(3, 0);
            w.varint(1);
          }
        }
      });
    });
    return w.view();
  }

  private _json(scopes: OtlpRequestEncoder['_scopes']): object {
    return {
      resourceMetrics: [
        {
          resource: { attributes: jsonAttributes(this._resource) },
          scopeMetrics: scopes.map((s) => ({
            scope: { name: s.scope.name, ...(s.scope.version ? { version: s.scope.version } : {}) },
            metrics: s.metrics.map((m) => ({
              name: m.header.name,
              description: m.header.description,
              unit: m.header.unit,
              ...(m.header.sum
                ? {
                    sum: {
                      dataPoints: m.points,
                      aggregationTemporality: m.header.sum.temporality,
                      isMonotonic: m.header.sum.monotonic,
                    },
                  }
                : { gauge: { dataPoints: m.points } }),
            })),
          })),
        },
      ],
    };
  }

  private _time(time: Time): { bytes: Uint8Array; text: string } {
    const c = this._timeCache;
    if (c && c.time[0] === time[0] && c.time[1] === time[1]) return c;
    this._timeCache = timeEncodings(time);
    return this._timeCache;
  }

  private _start(time: Time): { bytes: Uint8Array; text: string } {
    const c = this._startCache;
    if (c && c.time[0] === time[0] && c.time[1] === time[1]) return c;
    this._startCache = timeEncodings(time);
    return this._startCache;
  }
}

function timeEncodings(time: Time): { time: Time; bytes: Uint8Array; text: string } {
  return {
    time,
    bytes: fixed64Nanos(time),
    text: (BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])).toString(),
  };
}

function dataSize(header: MetricHeader, pointsSize: number): number {
  return pointsSize + (header.sum ? 2 + (header.sum.monotonic ? 2 : 0) : 0);
}

function metricContentSize(header: MetricHeader, pointsSize: number): number {
  return (
    stringFieldSize(header.name) +
    (header.description ? stringFieldSize(header.description) : 0) +
    (header.unit ? stringFieldSize(header.unit) : 0) +
    delimitedSize(dataSize(header, pointsSize))
  );
}

function scopeMessageSize(scope: ScopeHeader): number {
  return stringFieldSize(scope.name) + (scope.version ? stringFieldSize(scope.version) : 0);
}

function stringFieldSize(value: string): number {
  return delimitedSize(Buffer.byteLength(value));
}

function writeString(w: ProtobufWriter, field: number, value: string): void {
  w.stringField(field, value, Buffer.byteLength(value));
}

/** Size of an AnyValue message's content. */
function anyValueSize(value: AttributeValue): number {
  switch (typeof value) {
    case 'string':
      return stringFieldSize(value);
    case 'boolean':
      return 2;
    case 'number':
      return isVarintInteger(value) ? 1 + varintSize(value) : 9;
    default:
      return stringFieldSize(JSON.stringify(value));
  }
}

function writeAnyValue(w: ProtobufWriter, value: AttributeValue): void {
  switch (typeof value) {
    case 'string':
      writeString(w, 1, value);
      return;
    case 'boolean':
      w.tag(2, 0);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      // Integers as int_value, as the SDK's serializer writes them.
      if (isVarintInteger(value)) {
        w.tag(3, 0);
        w.varint(value);
      } else {
        w.tag(4, 1);
        w.double(value);
      }
      return;
    default:
      // Arrays are not produced by the bridge; keep them readable rather than dropping them.
      writeString(w, 1, JSON.stringify(value));
  }
}

function isVarintInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function keyValueSize(key: string, value: AttributeValue): number {
  return stringFieldSize(key) + delimitedSize(anyValueSize(value));
}

/** Size of a repeated KeyValue field (all its entries, tags included). */
function attributesFieldSize(attributes: Attributes): number {
  let n = 0;
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    n += delimitedSize(keyValueSize(key, value));
  }
  return n;
}

function writeAttributes(w: ProtobufWriter, field: number, attributes: Attributes): void {
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    w.tag(field, 2);
    w.varint(keyValueSize(key, value));
    writeString(w, 1, key);
    w.tag(2, 2);
    w.varint(anyValueSize(value));
    writeAnyValue(w, value);
  }
}

function jsonAttributes(attributes: Attributes): object[] {
  const out: object[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    out.push({
      key,
      value:
        typeof value === 'string'
          ? { stringValue: value }
          : typeof value === 'boolean'
            ? { boolValue: value }
            : typeof value === 'number'
              ? { doubleValue: value }
              : { stringValue: JSON.stringify(value) },
    });
  }
  return out;
}
