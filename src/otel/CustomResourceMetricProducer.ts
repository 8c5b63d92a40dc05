import { ValueType } from '@opentelemetry/api';
import type { HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type {
  CollectionResult,
  DataPoint,
  GaugeMetricData,
  MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SeriesCache } from '../engine/store/SeriesCache.ts';
import type { FamilyMeta } from '../model/FamilyMeta.ts';
import type { SeriesBlock } from '../exposition/SeriesBlock.ts';
import type { EncodedChunk } from '../exposition/BlockChunks.ts';

/** Instrumentation scope of the custom-resource families (the bridge's own metrics use another). */
export const CUSTOM_RESOURCE_SCOPE = { name: 'crd-metrics-bridge/customresources' } as const;

/**
 * Marks a family produced from the cache, so the Prometheus writer can use the blocks rendered
 * when objects changed instead of re-serialising every data point on each scrape.
 */
export const PRERENDERED = Symbol('crd-metrics-bridge.prerendered');

export interface PrerenderedMetricData extends GaugeMetricData {
  readonly [PRERENDERED]: {
    readonly family: FamilyMeta;
    readonly blocks: () => Iterable<SeriesBlock>;
    /** The same blocks as encoded chunks, what the Prometheus writer sends. */
    readonly chunks: readonly EncodedChunk[];
    /** Start of the cumulative series (the producer's creation) and time of this collection. */
    readonly startTime: HrTime;
    readonly time: HrTime;
  };
}

export function isPrerendered(metric: object): metric is PrerenderedMetricData {
  return PRERENDERED in metric;
}

/**
 * Feeds the per-object series into the SDK at collection time (the SDK's extension point for an
 * external source), registered on every reader of the one MeterProvider. Unlike observable
 * instruments, it reports only live objects: a deleted object's series are gone from the next
 * collection, and no cardinality limit or attribute memo grows with churn.
 *
 * Data points are built lazily, on first access of `dataPoints`: the Prometheus side reads the
 * prerendered text and never pays for them; the OTLP side builds them once per export.
 */
export class CustomResourceMetricProducer implements MetricProducer {
  private readonly _cache: () => SeriesCache | undefined;
  private readonly _startTime: HrTime;

  /** `cache` is a getter so a config reload can swap the cache without re-registering. */
  constructor(cache: () => SeriesCache | undefined) {
    this._cache = cache;
    this._startTime = millisToHrTime(Date.now());
  }

  collect(): Promise<CollectionResult> {
    const cache = this._cache();
    const endTime = millisToHrTime(Date.now());
    const startTime = this._startTime;
    // Every family's blocks are taken at once, in one synchronous step: a collection is one
    // consistent state of the cache (an aggregate agrees with the per-object series it counts),
    // even though writing it out takes many event-loop turns while objects keep changing. The
    // blocks themselves are never changed in place, only replaced.
    const metrics = [...(cache?.snapshotFamilies() ?? [])].map(([family, chunks]) => {
      const blocks = function* () {
        for (const chunk of chunks) yield* chunk.blocks;
      };
      let points: DataPoint<number>[] | undefined;
      const metric = {
        descriptor: {
          name: family.name,
          description: family.help,
          unit: unitOf(family.name),
          valueType: ValueType.DOUBLE,
        },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.GAUGE,
        [PRERENDERED]: { family, blocks, chunks, startTime, time: endTime },
      } as Omit<PrerenderedMetricData, 'dataPoints'>;
      Object.defineProperty(metric, 'dataPoints', {
        enumerable: true,
        get: () => {
          if (points === undefined) {
            points = [];
            for (const block of blocks()) {
              for (const p of block.points)
                points.push({ startTime, endTime, attributes: p.attributes, value: p.value });
            }
          }
          return points;
        },
      });
      return metric as PrerenderedMetricData;
    });
    return Promise.resolve({
      resourceMetrics: {
        resource: resourceFromAttributes({}),
        scopeMetrics: [{ scope: CUSTOM_RESOURCE_SCOPE, metrics }],
      },
      errors: [],
    });
  }
}

/**
 * The OTLP unit of a family, only where the name already ends with the Prometheus suffix of that
 * unit: an OTLP-to-Prometheus translation that adds unit suffixes (Prometheus' default
 * `UnderscoreEscapingWithSuffixes`, the Collector's exporters) then finds the suffix present and
 * leaves the name alone, so a series is named the same whichever path it takes. Any other name
 * gets no unit, so nothing can be appended to it.
 */
export function unitOf(name: string): string {
  for (const [suffix, unit] of UNIT_SUFFIXES) if (name.endsWith(suffix)) return unit;
  return '';
}

const UNIT_SUFFIXES: readonly (readonly [string, string])[] = [
  ['_seconds', 's'],
  ['_bytes', 'By'],
  ['_ratio', '1'],
  ['_meters', 'm'],
  ['_celsius', 'Cel'],
  ['_volts', 'V'],
  ['_amperes', 'A'],
  ['_joules', 'J'],
  ['_grams', 'g'],
];
