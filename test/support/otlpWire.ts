/**
 * A small, independent reader of OTLP metrics requests in protobuf wire format, written from the
 * proto definitions (opentelemetry/proto/metrics/v1/metrics.proto), for unit tests of what the
 * bridge encodes. It decodes only the fields the bridge uses and ignores the rest, like any
 * protobuf reader.
 */

type Field =
  | { wire: 0; value: bigint }
  | { wire: 1; value: Buffer }
  | { wire: 2; value: Buffer }
  | { wire: 5; value: Buffer };

function readVarint(buf: Buffer, at: { pos: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[at.pos++];
    if (b === undefined) throw new Error('truncated varint');
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
  }
}

export function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const key = Number(readVarint(buf, at));
    const field = key >>> 3;
    const wire = key & 7;
    let f: Field;
    if (wire === 0) f = { wire, value: readVarint(buf, at) };
    else if (wire === 1) {
      f = { wire, value: buf.subarray(at.pos, at.pos + 8) };
      at.pos += 8;
    } else if (wire === 2) {
      const len = Number(readVarint(buf, at));
      f = { wire, value: buf.subarray(at.pos, at.pos + len) };
      if (at.pos + len > buf.length) throw new Error('truncated length-delimited field');
      at.pos += len;
    } else if (wire === 5) {
      f = { wire, value: buf.subarray(at.pos, at.pos + 4) };
      at.pos += 4;
    } else throw new Error(`unexpected wire type ${wire} for field ${field}`);
    const list = out.get(field) ?? [];
    list.push(f);
    out.set(field, list);
  }
  return out;
}

const bytesOf = (m: Map<number, Field[]>, n: number): Buffer[] =>
  (m.get(n) ?? []).map((f) => f.value as Buffer);
const str = (m: Map<number, Field[]>, n: number): string | undefined => bytesOf(m, n)[0]?.toString('utf8');
const varint = (m: Map<number, Field[]>, n: number): bigint | undefined =>
  (m.get(n)?.[0]?.value as bigint | undefined) ?? undefined;

export interface DecodedPoint {
  attributes: Record<string, string | number | boolean>;
  start: bigint;
  time: bigint;
  asDouble?: number;
  asInt?: bigint;
  flags?: number;
}
export interface DecodedMetric {
  name: string;
  description: string;
  unit: string;
  type: 'gauge' | 'sum' | 'other';
  temporality?: number;
  monotonic?: boolean;
  points: DecodedPoint[];
}
export interface DecodedResourceMetrics {
  resource: Record<string, string | number | boolean>;
  scopes: { name: string; version: string; metrics: DecodedMetric[] }[];
}

function anyValue(buf: Buffer): string | number | boolean {
  const m = fields(buf);
  if (m.has(1)) return str(m, 1)!;
  if (m.has(2)) return varint(m, 2) === 1n;
  if (m.has(3)) return Number(BigInt.asIntN(64, varint(m, 3)!));
  if (m.has(4)) return bytesOf(m, 4)[0]!.readDoubleLE(0);
  return '<unsupported AnyValue>';
}

function attributes(list: Buffer[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list) {
    const m = fields(kv);
    out[str(m, 1)!] = anyValue(bytesOf(m, 2)[0] ?? Buffer.alloc(0));
  }
  return out;
}

function point(buf: Buffer): DecodedPoint {
  const m = fields(buf);
  const p: DecodedPoint = {
    attributes: attributes(bytesOf(m, 7)),
    start: bytesOf(m, 2)[0]?.readBigUInt64LE(0) ?? 0n,
    time: bytesOf(m, 3)[0]?.readBigUInt64LE(0) ?? 0n,
  };
  if (m.has(4)) p.asDouble = bytesOf(m, 4)[0]!.readDoubleLE(0);
  if (m.has(6)) p.asInt = bytesOf(m, 6)[0]!.readBigInt64LE(0);
  if (m.has(8)) p.flags = Number(varint(m, 8));
  return p;
}

function metric(buf: Buffer): DecodedMetric {
  const m = fields(buf);
  const base = { name: str(m, 1) ?? '', description: str(m, 2) ?? '', unit: str(m, 3) ?? '' };
  const gauge = bytesOf(m, 5)[0];
  if (gauge) return { ...base, type: 'gauge', points: bytesOf(fields(gauge), 1).map(point) };
  const sum = bytesOf(m, 7)[0];
  if (sum) {
    const s = fields(sum);
    return {
      ...base,
      type: 'sum',
      temporality: Number(varint(s, 2) ?? 0n),
      monotonic: varint(s, 3) === 1n,
      points: bytesOf(s, 1).map(point),
    };
  }
  return { ...base, type: 'other', points: [] };
}

/** Decodes an ExportMetricsServiceRequest. */
export function decodeMetricsRequest(body: Uint8Array): DecodedResourceMetrics[] {
  return bytesOf(fields(Buffer.from(body)), 1).map((rmBuf) => {
    const rm = fields(rmBuf);
    const resource = bytesOf(rm, 1)[0];
    return {
      resource: resource ? attributes(bytesOf(fields(resource), 1)) : {},
      scopes: bytesOf(rm, 2).map((smBuf) => {
        const sm = fields(smBuf);
        const scope = fields(bytesOf(sm, 1)[0] ?? Buffer.alloc(0));
        return {
          name: str(scope, 1) ?? '',
          version: str(scope, 2) ?? '',
          metrics: bytesOf(sm, 2).map(metric),
        };
      }),
    };
  });
}

/** Every data point of every request, as `metric{k=v,...}` → point, for assertions. */
export function pointsByseries(requests: readonly Uint8Array[]): Map<string, DecodedPoint> {
  const out = new Map<string, DecodedPoint>();
  for (const body of requests)
    for (const rm of decodeMetricsRequest(body))
      for (const s of rm.scopes)
        for (const m of s.metrics)
          for (const p of m.points) {
            const labels = Object.entries(p.attributes)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, v]) => `${k}=${String(v)}`)
              .join(',');
            out.set(`${m.name}{${labels}}`, p);
          }
  return out;
}
