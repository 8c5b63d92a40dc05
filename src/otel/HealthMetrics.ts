import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { HealthEvents } from '../engine/store/HealthTracker.ts';
import { healthFamiliesText, TIME_TO_HEALTHY_HELP, TRANSITIONS_HELP } from '../exposition/healthFamilies.ts';
import type { CounterSeries, HistogramSeries } from '../exposition/cumulativeFamilies.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import type { FamilyMeta, HealthHistorySpec } from '../model/FamilyMeta.ts';
import type { HealthState } from '../model/HealthState.ts';

/** Instrumentation scope of the health transition counters and time-to-healthy histograms. */
export const HEALTH_SCOPE = { name: 'crd-metrics-bridge/health' } as const;

type Labels = readonly (readonly [string, string])[];

/**
 * The counters and histograms fed by the objects' health history (the store's HealthTracker): SDK
 * instruments on the one MeterProvider, so OTLP gets them with the other metrics (and a histogram
 * as the exporter selects, exponential by default), and the Prometheus endpoint writes them after
 * the per-object families. They outlive a config reload and the objects they count; a restart
 * starts them from zero with a new start time.
 */
export class HealthMetrics implements HealthEvents {
  private readonly _meter: Meter;
  private readonly _counters = new Map<string, Counter>();
  private readonly _histograms = new Map<string, { histogram: Histogram; buckets: readonly number[] }>();
  private readonly _onBucketsIgnored: (name: string) => void;

  /**
   * @param onBucketsIgnored told when a reload asks for other buckets than a histogram already
   *   has (the SDK keeps the first; new buckets take a restart). @default ignore
   */
  constructor(meter: Meter, onBucketsIgnored: (name: string) => void = () => undefined) {
    this._meter = meter;
    this._onBucketsIgnored = onBucketsIgnored;
  }

  transition(family: FamilyMeta, labels: Labels, from: HealthState, to: HealthState): void {
    const spec = family.health;
    if (!spec) return;
    let counter = this._counters.get(spec.transitions);
    if (!counter) {
      counter = this._meter.createCounter(spec.transitions, { description: TRANSITIONS_HELP });
      this._counters.set(spec.transitions, counter);
    }
    const attributes: Attributes = {};
    for (const [k, v] of labels) attributes[k] = v;
    attributes.from = from;
    attributes.to = to;
    counter.add(1, attributes);
  }

  timeToHealthy(family: FamilyMeta, labels: Labels, seconds: number): void {
    const spec = family.health;
    if (!spec) return;
    let entry = this._histograms.get(spec.timeToHealthy);
    if (!entry) {
      entry = {
        histogram: this._meter.createHistogram(spec.timeToHealthy, {
          description: TIME_TO_HEALTHY_HELP,
          unit: 's',
          advice: { explicitBucketBoundaries: [...spec.buckets] },
        }),
        buckets: spec.buckets,
      };
      this._histograms.set(spec.timeToHealthy, entry);
    } else if (!sameNumbers(entry.buckets, spec.buckets)) {
      this._onBucketsIgnored(spec.timeToHealthy);
      entry = { ...entry, buckets: spec.buckets };
      this._histograms.set(spec.timeToHealthy, entry);
    }
    const attributes: Attributes = {};
    for (const [k, v] of labels) attributes[k] = v;
    entry.histogram.record(seconds, attributes);
  }
}

/**
 * The health families of the serving config from one collection of the health scope, for the
 * Prometheus endpoint.
 */
export function collectedHealthFamilies(
  specs: readonly HealthHistorySpec[],
  collected: ResourceMetrics,
  format: ExpositionFormat,
): string {
  const metrics = new Map<string, MetricData>();
  for (const scope of collected.scopeMetrics)
    if (scope.scope.name === HEALTH_SCOPE.name)
      for (const m of scope.metrics) metrics.set(m.descriptor.name, m);
  return healthFamiliesText(
    specs,
    (spec) => {
      const histogram = metrics.get(spec.timeToHealthy);
      return {
        transitions: counterSeries(metrics.get(spec.transitions)),
        // The instrument keeps the buckets it was created with (new ones take a restart), so its
        // points are written against their own bounds.
        ...(histogram?.dataPointType === DataPointType.HISTOGRAM && histogram.dataPoints[0]
          ? {
              timeToHealthy: {
                bounds: histogram.dataPoints[0].value.buckets.boundaries,
                series: histogramSeries(histogram),
              },
            }
          : {}),
      };
    },
    format,
  );
}

function counterSeries(metric: MetricData | undefined): CounterSeries[] {
  if (metric?.dataPointType !== DataPointType.SUM) return [];
  return metric.dataPoints.map((p) => ({
    labels: labelsOf(p.attributes),
    startSeconds: seconds(p.startTime),
    value: p.value,
  }));
}

function histogramSeries(metric: MetricData | undefined): HistogramSeries[] {
  if (metric?.dataPointType !== DataPointType.HISTOGRAM) return [];
  return metric.dataPoints.map((p) => ({
    labels: labelsOf(p.attributes),
    startSeconds: seconds(p.startTime),
    bucketCounts: p.value.buckets.counts,
    sum: p.value.sum ?? 0,
    count: p.value.count,
  }));
}

function labelsOf(attributes: Attributes): [string, string][] {
  return Object.entries(attributes).map(([k, v]) => [k, String(v)]);
}

function seconds([s, ns]: readonly [number, number]): number {
  return s + ns / 1e9;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
