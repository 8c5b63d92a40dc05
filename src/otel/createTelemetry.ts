import { createRequire } from 'node:module';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type * as OtlpExporterModule from './createOtlpExporter.ts';
import { CustomResourceMetricProducer } from './CustomResourceMetricProducer.ts';
import { ObservedMetricExporter } from './ObservedMetricExporter.ts';
import type { OtelSettings } from './OtelSettings.ts';
import { healthSpecs } from '../exposition/healthFamilies.ts';
import { HEALTH_SCOPE, HealthMetrics } from './HealthMetrics.ts';
import { PrometheusPullReader } from './PrometheusPullReader.ts';
import { SELF_METRICS_SCOPE, SelfMetrics } from './SelfMetrics.ts';
import type { SelfMetricsState } from './SelfMetrics.ts';

export interface TelemetryOptions {
  readonly otel: OtelSettings;
  readonly logger: Logger;
  /** `service.version` and build_info. */
  readonly version: string;
  /** build_info's `revision`. @default 'unknown' */
  readonly revision?: string;
  /** Add target_info to the custom-resource endpoint. @default false */
  readonly targetInfo?: boolean;
  /** See PrometheusPullReaderOptions.gzipMaxStalenessMs. @default DEFAULT_GZIP_MAX_STALENESS_MS */
  readonly gzipMaxStalenessMs?: number;
}

/** The one MeterProvider with its readers, and the bridge's own instruments on it. */
export interface Telemetry {
  readonly meterProvider: MeterProvider;
  /** undefined when OTEL_METRICS_EXPORTER leaves out prometheus. */
  readonly pullReader: PrometheusPullReader | undefined;
  readonly selfMetrics: SelfMetrics;
  /** Counts the health transitions and times to healthy the series store reports. */
  readonly healthMetrics: HealthMetrics;
  /** The OTLP push targets, for the startup log (written once the bridge is sure to run). */
  readonly pushTargets: readonly Record<string, unknown>[];
  /**
   * Connects the running pipeline: the producer and the self-metrics gauges read its cache,
   * config and sources at each collection (a reload swaps them underneath). Until then the
   * custom-resource families are empty.
   */
  observe(state: SelfMetricsState): void;
  /** Final OTLP export and shutdown, bounded by `timeoutMillis` (never throws). */
  shutdown(timeoutMillis: number): Promise<void>;
}

/**
 * Series per counter or histogram (the SDK's default is 2,000); more fold into one
 * `otel_metric_overflow="true"` series. The health counters have a series per namespace,
 * resource and state pair, so only clusters with thousands of namespaces holding health-tracked
 * kinds come near it.
 */
export const HEALTH_SERIES_LIMIT = 10_000;

/**
 * The OTLP push (OTel's HTTP transport and serializers, a measurable share of start-up), loaded
 * only when a push is configured; the default is the Prometheus endpoint alone. A
 * synchronous require of the ES module, from src/ (.ts) or dist/ (.js) alike.
 */
function otlpExporterModule(): typeof OtlpExporterModule {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return createRequire(import.meta.url)(`./createOtlpExporter${extension}`) as typeof OtlpExporterModule;
}

/**
 * Assembles the OpenTelemetry side in dependency order: resource, readers (pull and OTLP push,
 * both fed by the custom-resource producer), provider, then the self-metrics on its meter. OTLP
 * export results are tallied in a plain object the self-metrics observe, so nothing here refers
 * to an instrument before it exists.
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const { otel, logger } = options;
  let observed: SelfMetricsState | undefined;
  const producer = new CustomResourceMetricProducer(() => observed?.cache());
  const exportResults = { success: 0, failure: 0 };
  const gzipScrapes = { current: 0, prepared: 0 };
  const readers: IMetricReader[] = [];
  const pushTargets: Record<string, unknown>[] = [];
  let pullReader: PrometheusPullReader | undefined;
  if (otel.prometheus) {
    pullReader = new PrometheusPullReader({
      producers: [producer],
      targetInfo: options.targetInfo ?? false,
      cardinalityLimit: HEALTH_SERIES_LIMIT,
      healthFamilies: () => healthSpecs(observed?.cache()?.families ?? []),
      familySnapshot: () => observed?.cache()?.snapshotFamilies(),
      ...(options.gzipMaxStalenessMs === undefined ? {} : { gzipMaxStalenessMs: options.gzipMaxStalenessMs }),
      onGzipAnswered: (state) => void gzipScrapes[state]++,
      onCollectError: (err) => logger.warn({ err }, 'metric collection reported an error'),
    });
    readers.push(pullReader);
  }
  for (const otlp of otel.otlp) {
    const { createOtlpExporter, otlpTarget } = otlpExporterModule();
    const target = otlpTarget(otlp);
    const exporter = new ObservedMetricExporter(createOtlpExporter(otlp), target, logger, {
      onExport: (result) => void exportResults[result]++,
    });
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: otlp.intervalMillis,
        exportTimeoutMillis: otlp.exportTimeoutMillis,
        // No maxExportBatchSize: the exporter splits requests itself, in time slices, without
        // materialising every data point first (see OtlpMetricExporter).
        metricProducers: [producer],
        // Per reader, not a View: a View would override the exporter's histogram aggregation.
        cardinalityLimits: { counter: HEALTH_SERIES_LIMIT, histogram: HEALTH_SERIES_LIMIT },
      }),
    );
    pushTargets.push({
      target,
      protocol: otlp.protocol,
      intervalMs: otlp.intervalMillis,
      temporality: otlp.temporality,
    });
  }
  // Later sources win: our defaults, a random service.instance.id for this process (the SDK's
  // detector: two replicas pushing OTLP must not merge into one series), OTEL_SERVICE_NAME and
  // OTEL_RESOURCE_ATTRIBUTES, then the config file's attributes and the shard's instance id.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({ 'service.name': 'crd-metrics-bridge', 'service.version': options.version }),
    )
    .merge(detectResources({ detectors: [serviceInstanceIdDetector, envDetector] }))
    .merge(resourceFromAttributes(otel.resourceAttributes));
  const meterProvider = new MeterProvider({ resource, readers });
  const selfMetrics = new SelfMetrics(meterProvider.getMeter(SELF_METRICS_SCOPE, options.version), {
    version: options.version,
    revision: options.revision ?? 'unknown',
    otlpExports: () => exportResults,
    ...(otel.prometheus ? { gzipScrapes: () => gzipScrapes } : {}),
  });
  const healthMetrics = new HealthMetrics(
    meterProvider.getMeter(HEALTH_SCOPE.name, options.version),
    (name) =>
      logger.warn({ histogram: name }, 'health.buckets changed by a reload take effect at the next restart'),
  );
  return {
    meterProvider,
    pullReader,
    selfMetrics,
    healthMetrics,
    pushTargets,
    observe(state) {
      observed = state;
      selfMetrics.observe(state);
    },
    async shutdown(timeoutMillis) {
      // The SDK's own timeout covers the flush; the race also covers an exporter that ignores it.
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          meterProvider.shutdown({ timeoutMillis }),
          new Promise<void>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMillis} ms`)), timeoutMillis);
            timer.unref();
          }),
        ]);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'final OTLP export did not complete');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
