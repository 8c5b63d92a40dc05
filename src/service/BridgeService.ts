import { metrics } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { CompiledConfig } from '../engine/compileConfig.ts';
import { formatObjectRef } from '../engine/objectIdentity.ts';
import { ObjectErrors } from '../engine/ObjectErrors.ts';
import { ObjectIngestor } from '../engine/ObjectIngestor.ts';
import { SeriesCache } from '../engine/SeriesCache.ts';
import { CONTENT_TYPES } from '../exposition/ExpositionFormat.ts';
import { HttpServer } from '../http/HttpServer.ts';
import type { RouteHandler } from '../http/HttpServer.ts';
import { landingPage } from '../http/landingPage.ts';
import type { ListenAddress } from '../http/listenAddress.ts';
import { negotiateFormat } from '../http/negotiate.ts';
import { createOtlpExporter, otlpTarget } from '../otel/createOtlpExporter.ts';
import { CustomResourceMetricProducer } from '../otel/CustomResourceMetricProducer.ts';
import { ObservedMetricExporter } from '../otel/ObservedMetricExporter.ts';
import type { OtelSettings } from '../otel/OtelSettings.ts';
import { PrometheusPullReader } from '../otel/PrometheusPullReader.ts';
import { SELF_METRICS_SCOPE, SelfMetrics } from '../otel/SelfMetrics.ts';
import type { ObjectSink, Source, SourceTelemetry } from '../sources/Source.ts';

export const BRIDGE_VERSION = '0.1.0';

export interface BridgeServiceOptions {
  readonly config: CompiledConfig;
  /** Builds the sources, given where they deliver objects. */
  /** Builds the sources for a config, given where they deliver objects (called again on reload). */
  readonly sources: (
    config: CompiledConfig,
    sink: ObjectSink,
    telemetry: SourceTelemetry,
  ) => readonly Source[];
  readonly otel: OtelSettings;
  readonly logger: Logger;
  /** Main listener: custom-resource metrics and health. @default :8080 */
  readonly listenAddress: ListenAddress;
  /** Second listener for the bridge's own metrics. @default :8081 */
  readonly telemetryAddress: ListenAddress | undefined;
  /** Path of the metrics endpoint on both listeners. @default /metrics */
  readonly telemetryPath: string;
  /** Parallel scrapes allowed; 0 = unlimited. @default 40 */
  readonly maxRequests: number;
  /** Add target_info to the custom-resource endpoint. @default false */
  readonly targetInfo: boolean;
}

/**
 * The running bridge: sources → ingestor → cache, one MeterProvider whose readers (Prometheus
 * pull, OTLP push) read the cache at collection time, and the HTTP listeners.
 */
export class BridgeService {
  private readonly _o: BridgeServiceOptions;
  private _pipeline: Pipeline;
  private readonly _meterProvider: MeterProvider;
  private readonly _pullReader: PrometheusPullReader | undefined;
  private readonly _servers: HttpServer[] = [];
  private readonly _selfMetrics: SelfMetrics;
  private _stopping: Promise<void> | undefined;

  constructor(options: BridgeServiceOptions) {
    this._o = options;
    const { logger } = options;
    const producer = new CustomResourceMetricProducer(() => this._pipeline.cache);
    const readers: IMetricReader[] = [];
    if (options.otel.prometheus) {
      this._pullReader = new PrometheusPullReader({
        producers: [producer],
        targetInfo: options.targetInfo,
        onCollectError: (err) => logger.warn({ err }, 'metric collection reported an error'),
      });
      readers.push(this._pullReader);
    }
    // The exporters are built before the MeterProvider that SelfMetrics needs; they reach it
    // through this variable once it is set below.
    let selfMetrics: SelfMetrics | undefined;
    for (const otlp of options.otel.otlp) {
      const target = otlpTarget(otlp);
      const exporter = new ObservedMetricExporter(createOtlpExporter(otlp), target, logger, {
        onExport: (result) => selfMetrics?.otlpExport(result),
      });
      readers.push(
        new PeriodicExportingMetricReader({
          exporter,
          exportIntervalMillis: otlp.intervalMillis,
          exportTimeoutMillis: otlp.exportTimeoutMillis,
          // No maxExportBatchSize: the exporter splits requests itself, in time slices, without
          // materialising every data point first (see OtlpMetricExporter).
          metricProducers: [producer],
        }),
      );
      logger.info(
        { target, protocol: otlp.protocol, intervalMs: otlp.intervalMillis, temporality: otlp.temporality },
        'OTLP push enabled',
      );
    }
    const resource = defaultResource()
      .merge(
        resourceFromAttributes({ 'service.name': 'crd-metrics-bridge', 'service.version': BRIDGE_VERSION }),
      )
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes(options.otel.resourceAttributes));
    this._meterProvider = new MeterProvider({ resource, readers });
    this._selfMetrics = selfMetrics = new SelfMetrics(
      this._meterProvider.getMeter(SELF_METRICS_SCOPE, BRIDGE_VERSION),
      {
        cache: () => this._pipeline.cache,
        config: () => this._pipeline.config,
        sources: () => this._pipeline.sources,
      },
      { version: BRIDGE_VERSION },
    );
    this._pipeline = this._buildPipeline(options.config);
  }

  /** Config → cache → sources: everything a config reload replaces. */
  private _buildPipeline(config: CompiledConfig): Pipeline {
    const { logger } = this._o;
    const cache = new SeriesCache(config.families);
    const errors = new ObjectErrors({
      onFirst: (s) =>
        logger[s.errorLogV > 0 ? 'debug' : 'warn'](
          { resource: s.resource, metric: s.metric, kind: s.kind, object: formatObjectRef(s.exampleObject) },
          `object error (reported once per metric and kind; see crd_metrics_bridge_object_errors_total): ${s.exampleMessage}`,
        ),
      onEvery: (s) => this._selfMetrics.objectError(s),
    });
    const ingestor = new ObjectIngestor(config, cache, errors, (outcome, resourceId) =>
      this._selfMetrics.objectEvent(outcome, resourceId),
    );
    return { config, cache, sources: this._o.sources(config, ingestor, this._selfMetrics.sourceTelemetry) };
  }

  /**
   * Replaces the config: new sources fill a new cache while the old one keeps serving, then the
   * two are swapped (no gap in the series, unlike a restart). If the new sources fail to start,
   * the old pipeline stays.
   */
  async reload(config: CompiledConfig): Promise<void> {
    const next = this._buildPipeline(config);
    try {
      await Promise.all(next.sources.map((s) => s.start()));
    } catch (err) {
      await Promise.allSettled(next.sources.map((s) => s.stop()));
      throw err;
    }
    const previous = this._pipeline;
    this._pipeline = next;
    await Promise.allSettled(previous.sources.map((s) => s.stop()));
    this._o.logger.info(
      {
        resources: config.resources.length,
        families: config.families.length,
        objects: next.cache.objectCount,
      },
      'config reloaded',
    );
  }

  get selfMetrics(): SelfMetrics {
    return this._selfMetrics;
  }

  get cache(): SeriesCache {
    return this._pipeline.cache;
  }

  /** True once every source has delivered its initial state. */
  get ready(): boolean {
    return this._pipeline.sources.every((s) => s.synced);
  }

  /** Starts listeners first (so probes answer during a long initial sync), then the sources. */
  async start(): Promise<{ main: string; telemetry: string | undefined }> {
    const { logger } = this._o;
    const main = new HttpServer({
      name: 'main',
      address: this._o.listenAddress,
      routes: this._mainRoutes(),
      logger,
      limitedPaths: new Set([this._o.telemetryPath]),
      maxInFlight: this._o.maxRequests,
    });
    this._servers.push(main);
    const mainAddress = await main.listen();
    let telemetryAddress: string | undefined;
    if (this._o.telemetryAddress) {
      const telemetry = new HttpServer({
        name: 'telemetry',
        address: this._o.telemetryAddress,
        routes: this._telemetryRoutes(),
        logger,
        limitedPaths: new Set([this._o.telemetryPath]),
        maxInFlight: this._o.maxRequests,
      });
      this._servers.push(telemetry);
      telemetryAddress = await telemetry.listen();
    }
    logger.info({ main: mainAddress, telemetry: telemetryAddress, path: this._o.telemetryPath }, 'listening');
    await Promise.all(
      this._pipeline.sources.map(async (source) => {
        const started = Date.now();
        await source.start();
        logger.info(
          { source: source.name, objects: this.cache.objectCount, ms: Date.now() - started },
          'source synced',
        );
      }),
    );
    return { main: mainAddress, telemetry: telemetryAddress };
  }

  /** Stops sources, pushes a last OTLP export, closes listeners. Safe to call twice. */
  stop(): Promise<void> {
    this._stopping ??= (async () => {
      const { logger } = this._o;
      await Promise.allSettled(this._pipeline.sources.map((s) => s.stop()));
      try {
        await this._meterProvider.shutdown({ timeoutMillis: 5_000 });
      } catch (err) {
        logger.warn({ err }, 'final OTLP export failed');
      }
      await Promise.allSettled(this._servers.map((s) => s.close()));
      metrics.disable();
    })();
    return this._stopping;
  }

  private _health(): Map<string, RouteHandler> {
    const ok: RouteHandler = () => ({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' });
    const ready: RouteHandler = () => {
      if (this.ready) return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' };
      const waiting = this._pipeline.sources.filter((s) => !s.synced).map((s) => s.name);
      return {
        status: 503,
        contentType: 'text/plain; charset=utf-8',
        body: `not ready: waiting for ${waiting.join(', ')}\n`,
      };
    };
    return new Map([
      ['/healthz', ok],
      ['/livez', ok],
      ['/readyz', ready],
    ]);
  }

  private _mainRoutes(): Map<string, RouteHandler> {
    const routes = this._health();
    const path = this._o.telemetryPath;
    routes.set('/', () => ({
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: landingPage({
        version: BRIDGE_VERSION,
        metricsPath: path,
        ready: this.ready,
        objects: this.cache.objectCount,
      }),
    }));
    routes.set(path, async (req) => {
      if (!this._pullReader) {
        return {
          status: 404,
          contentType: 'text/plain; charset=utf-8',
          body: 'the Prometheus endpoint is disabled (OTEL_METRICS_EXPORTER)\n',
        };
      }
      const format = negotiateFormat(req.headers.accept);
      const body = await this._pullReader.scrapeCustomResources(format);
      return { status: 200, contentType: CONTENT_TYPES[format], body, compressible: true };
    });
    return routes;
  }

  private _telemetryRoutes(): Map<string, RouteHandler> {
    const routes = this._health();
    routes.set(this._o.telemetryPath, async () => {
      if (!this._pullReader)
        return { status: 404, contentType: 'text/plain; charset=utf-8', body: 'disabled\n' };
      const body = await this._pullReader.scrapeSelfMetrics();
      return { status: 200, contentType: CONTENT_TYPES.text, body, compressible: true };
    });
    return routes;
  }
}

interface Pipeline {
  readonly config: CompiledConfig;
  readonly cache: SeriesCache;
  readonly sources: readonly Source[];
}
