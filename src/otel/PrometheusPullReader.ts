import { AggregationTemporality, InstrumentType, MetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricProducer, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { familyChunkPieces } from '../exposition/renderFamilies.ts';
import { ExpositionBody } from '../exposition/ExpositionBody.ts';
import { DEFAULT_GZIP_MAX_STALENESS_MS, GzipLookahead } from '../exposition/GzipLookahead.ts';
import type { FamilyChunks } from '../exposition/GzipLookahead.ts';
import type { GzipState } from '../exposition/ExpositionBody.ts';
import type { EncodedChunk } from '../exposition/BlockChunks.ts';
import { targetInfoFamily } from '../exposition/targetInfo.ts';
import type { FamilyMeta, HealthHistorySpec } from '../model/FamilyMeta.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { textToOpenMetrics } from '../exposition/textToOpenMetrics.ts';
import { CUSTOM_RESOURCE_SCOPE, isPrerendered, PRERENDERED } from './CustomResourceMetricProducer.ts';
import { collectedHealthFamilies, HEALTH_SCOPE } from './HealthMetrics.ts';
import { ProcessMetrics } from './processMetrics.ts';

export interface PrometheusPullReaderOptions {
  readonly producers: readonly MetricProducer[];
  /**
   * Add OpenTelemetry's `target_info` (the resource's attributes) to the custom-resource
   * endpoint. Off by default so the output matches kube-state-metrics. @default false
   */
  readonly targetInfo?: boolean;
  /** Receives errors the SDK reports while collecting (a failing callback); collection goes on. */
  readonly onCollectError?: (error: unknown) => void;
  /**
   * Append the process and Node.js runtime metrics (`process_cpu_seconds_total`, ...; see
   * ProcessMetrics) to the bridge's own metrics. @default true
   */
  readonly processMetrics?: boolean;
  /**
   * The health specs of the serving config: their transition counters and time-to-healthy
   * histograms follow the custom-resource families. @default none
   */
  readonly healthFamilies?: () => readonly HealthHistorySpec[];
  /** Series per counter or histogram; more fold into an overflow series. @default 2000 (the SDK's) */
  readonly cardinalityLimit?: number;
  /**
   * The custom-resource families as they are now, for gzip scrapes answered from a state
   * compressed ahead of them (GzipLookahead). @default none: every gzip scrape compresses what
   * changed since the last
   */
  readonly familySnapshot?: () => FamilyChunks | undefined;
  /** How old that state may be when served; 0 = never served. @default DEFAULT_GZIP_MAX_STALENESS_MS */
  readonly gzipMaxStalenessMs?: number;
  /** Told of each gzip scrape of the custom-resource families, with the state it was answered with. */
  readonly onGzipAnswered?: (state: GzipState) => void;
}

/**
 * The pull side of the one MeterProvider: a MetricReader that collects on demand (each scrape)
 * and serialises with content negotiation. Custom-resource families arrive through the producer
 * already rendered; only the bridge's own metrics go through a per-scrape serializer.
 */
export class PrometheusPullReader extends MetricReader {
  private readonly _targetInfo: boolean;
  private readonly _onCollectError: (error: unknown) => void;
  private readonly _selfSerializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  private readonly _processMetrics: ProcessMetrics | undefined;
  private readonly _healthFamilies: () => readonly HealthHistorySpec[];
  private readonly _onGzipAnswered: ((state: GzipState) => void) | undefined;
  /** Gzip scrapes foreseen and prepared for, when enabled. */
  readonly gzipLookahead: GzipLookahead | undefined;

  constructor(options: PrometheusPullReaderOptions) {
    super({
      metricProducers: [...options.producers],
      // Gauges collected as delta report only what was observed in this collection, so a gauge
      // series that vanished (e.g. a resource dropped by a reload) leaves the endpoint; cumulative
      // would repeat its last value forever. Counters stay cumulative, as Prometheus expects.
      aggregationTemporalitySelector: (type) =>
        type === InstrumentType.OBSERVABLE_GAUGE || type === InstrumentType.GAUGE
          ? AggregationTemporality.DELTA
          : AggregationTemporality.CUMULATIVE,
      ...(options.cardinalityLimit === undefined
        ? {}
        : {
            cardinalitySelector: (type: InstrumentType) =>
              type === InstrumentType.COUNTER || type === InstrumentType.HISTOGRAM
                ? options.cardinalityLimit!
                : 2000,
          }),
    });
    this._targetInfo = options.targetInfo ?? false;
    this._onCollectError = options.onCollectError ?? (() => undefined);
    if (options.processMetrics ?? true) this._processMetrics = new ProcessMetrics();
    this._healthFamilies = options.healthFamilies ?? (() => []);
    this._onGzipAnswered = options.onGzipAnswered;
    const maxStalenessMs = options.gzipMaxStalenessMs ?? DEFAULT_GZIP_MAX_STALENESS_MS;
    this.gzipLookahead =
      options.familySnapshot && maxStalenessMs > 0
        ? new GzipLookahead({ snapshot: options.familySnapshot, maxStalenessMs })
        : undefined;
  }

  /**
   * The custom-resource families (what `render` prints), in the negotiated format, as a body of
   * chunks kept encoded (and compressed) since their objects changed (see ExpositionBody).
   */
  async scrapeCustomResources(format: ExpositionFormat): Promise<ExpositionBody> {
    const { resourceMetrics, errors } = await this.collect();
    this._reportErrors(errors);
    const lookahead = this.gzipLookahead;
    const onAnswered = this._onGzipAnswered;
    return new ExpositionBody(
      () => this._customResourcePieces(resourceMetrics, format),
      lookahead === undefined
        ? { ...(onAnswered ? { onGzipAnswered: onAnswered } : {}) }
        : {
            ...(onAnswered ? { onGzipAnswered: onAnswered } : {}),
            onGzip: (requester) => lookahead.arrived(requester),
            prepared: async () => {
              const prepared = await lookahead.ready();
              return prepared && this._piecesOf(prepared.families, resourceMetrics, format);
            },
          },
    );
  }

  /**
   * The bridge's own metrics, then the process and runtime metrics, for the telemetry listener, in
   * the negotiated format.
   */
  async scrapeSelfMetrics(format: ExpositionFormat = 'text'): Promise<string> {
    const { resourceMetrics, errors } = await this.collect();
    this._reportErrors(errors);
    const own = this._selfSerializer.serialize({
      resource: resourceMetrics.resource,
      scopeMetrics: resourceMetrics.scopeMetrics.filter(
        (s) => s.scope.name !== CUSTOM_RESOURCE_SCOPE.name && s.scope.name !== HEALTH_SCOPE.name,
      ),
    });
    const text = this._processMetrics
      ? (own === '' || own.endsWith('\n') ? own : own + '\n') + (await this._processMetrics.text())
      : own;
    return format === 'openmetrics' ? textToOpenMetrics(text) : text;
  }

  private _reportErrors(errors: readonly unknown[]): void {
    for (const err of errors) this._onCollectError(err);
  }

  private *_customResourcePieces(
    resourceMetrics: ResourceMetrics,
    format: ExpositionFormat,
  ): Generator<string | EncodedChunk> {
    const chunksByFamily = new Map<FamilyMeta, readonly EncodedChunk[]>();
    for (const scope of resourceMetrics.scopeMetrics) {
      if (scope.scope.name !== CUSTOM_RESOURCE_SCOPE.name) continue;
      for (const metric of scope.metrics) {
        if (isPrerendered(metric)) chunksByFamily.set(metric[PRERENDERED].family, metric[PRERENDERED].chunks);
      }
    }
    yield* this._piecesOf(chunksByFamily, resourceMetrics, format);
  }

  /** The families' chunks between target info and the health families of this collection. */
  private *_piecesOf(
    chunksByFamily: FamilyChunks,
    resourceMetrics: ResourceMetrics,
    format: ExpositionFormat,
  ): Generator<string | EncodedChunk> {
    // Written here, not by the SDK's serializer: given no metrics, that one appends
    // "# no registered metrics" without a line end, which glued it to the next HELP line.
    const before = this._targetInfo ? targetInfoFamily(resourceMetrics.resource.attributes, format) : '';
    const health = this._healthFamilies();
    yield* familyChunkPieces(
      [...chunksByFamily.keys()],
      (f) => chunksByFamily.get(f)!,
      format,
      before,
      health.length > 0 ? () => collectedHealthFamilies(health, resourceMetrics, format) : undefined,
    );
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    this.gzipLookahead?.close();
    return Promise.resolve();
  }
}
