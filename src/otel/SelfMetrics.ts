import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import type { ObjectErrorSummary } from '../engine/ObjectErrors.ts';
import type { IngestOutcome } from '../engine/ObjectIngestor.ts';
import type { SeriesCache } from '../engine/SeriesCache.ts';
import type { CompiledConfig } from '../engine/compileConfig.ts';
import type { Source } from '../sources/Source.ts';

/** Scope of the bridge's own instruments, kept off the custom-resource endpoint. */
export const SELF_METRICS_SCOPE = 'crd-metrics-bridge';

export interface SelfMetricsState {
  readonly cache: () => SeriesCache | undefined;
  readonly config: () => CompiledConfig | undefined;
  readonly sources: () => readonly Source[];
}

/**
 * The bridge's own telemetry, with ordinary SDK instruments: observable gauges read the cache at
 * collection time (they are low-cardinality: per resource, family or source), counters count
 * events and errors as they happen.
 */
export class SelfMetrics {
  private readonly _events: Counter;
  private readonly _objectErrors: Counter;
  private readonly _otlpExports: Counter;
  private readonly _configReloads: Counter;

  constructor(meter: Meter, state: SelfMetricsState, build: { version: string }) {
    const prefix = 'crd_metrics_bridge_';
    this._events = meter.createCounter(`${prefix}object_events`, {
      description: 'Object events handled, by resource and outcome (upserted, deleted, unmatched, failed).',
    });
    this._objectErrors = meter.createCounter(`${prefix}object_errors`, {
      description: 'Per-object problems (unconvertible value, CEL error, missing value...), by resource, metric and kind.',
    });
    this._otlpExports = meter.createCounter(`${prefix}otlp_exports`, { description: 'OTLP export attempts by result.' });
    this._configReloads = meter.createCounter(`${prefix}config_reloads`, { description: 'Config reloads by result.' });

    meter
      .createObservableGauge(`${prefix}build_info`, { description: 'Build information; value 1.' })
      .addCallback((r) => r.observe(1, { version: build.version, nodejs_version: process.version }));
    meter
      .createObservableGauge(`${prefix}cached_objects`, { description: 'Objects in the cache, by resource.' })
      .addCallback((r) => {
        const cache = state.cache();
        for (const resource of state.config()?.resources ?? []) {
          r.observe(cache?.objectsOf(resource.id) ?? 0, resourceAttributes(resource.id, resource.groupVersionKind));
        }
      });
    meter
      .createObservableGauge(`${prefix}series`, { description: 'Series currently exposed, by metric family.' })
      .addCallback((r) => {
        const cache = state.cache();
        if (!cache) return;
        for (const family of cache.families) r.observe(cache.seriesCount(family), { family: family.name });
      });
    meter
      .createObservableGauge(`${prefix}source_synced`, { description: '1 once a source has delivered its initial state.' })
      .addCallback((r) => {
        for (const source of state.sources()) r.observe(source.synced ? 1 : 0, { source: source.name });
      });
  }

  objectEvent(outcome: IngestOutcome, resourceId: string | undefined): void {
    this._events.add(1, { outcome, resource: resourceId ?? '' });
  }

  /** Counts one error occurrence; the first of each kind is also logged by the caller. */
  objectError(summary: Pick<ObjectErrorSummary, 'resource' | 'metric' | 'kind'>): void {
    this._objectErrors.add(1, { resource: summary.resource, metric: summary.metric, kind: summary.kind });
  }

  otlpExport(result: 'success' | 'failure'): void {
    this._otlpExports.add(1, { result });
  }

  configReload(result: 'success' | 'failure'): void {
    this._configReloads.add(1, { result });
  }
}

function resourceAttributes(id: string, gvk: { group: string; version: string; kind: string }): Attributes {
  return { resource: id, group: gvk.group, version: gvk.version || '*', kind: gvk.kind || '*' };
}
