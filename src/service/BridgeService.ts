import { metrics } from '@opentelemetry/api';
import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SeriesCache } from '../engine/SeriesCache.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { HttpServer } from '../http/HttpServer.ts';
import type { HttpServerOptions } from '../http/HttpServer.ts';
import type { ListenAddress } from '../http/listenAddress.ts';
import { createTelemetry } from '../otel/createTelemetry.ts';
import type { Telemetry } from '../otel/createTelemetry.ts';
import type { OtelSettings } from '../otel/OtelSettings.ts';
import { SELF_METRICS_SCOPE } from '../otel/SelfMetrics.ts';
import type { SelfMetrics } from '../otel/SelfMetrics.ts';
import type { SourceFactory } from './createSources.ts';
import { Pipeline } from './Pipeline.ts';
import type { LoadedConfig, ReloadOutcome, ReloadTrigger } from './Pipeline.ts';
import { mainRoutes, telemetryRoutes } from './routes.ts';
import type { BridgeStatus } from './routes.ts';
import { StartupError } from './StartupError.ts';
import { gitRevision, VERSION } from '../version.ts';

export const BRIDGE_VERSION = VERSION;

export interface BridgeServiceOptions {
  readonly config: LoadedConfig;
  /** Builds the sources for a config, given where they deliver objects (called again on reload). */
  readonly sources: SourceFactory;
  readonly otel: OtelSettings;
  readonly logger: Logger;
  /** Main listener: custom-resource metrics and health. @default :8080 */
  readonly listenAddress: ListenAddress;
  /** Second listener for the bridge's own metrics. @default :8081 */
  readonly telemetryAddress: ListenAddress | undefined;
  /** Path of the metrics endpoint on both listeners. @default /metrics */
  readonly telemetryPath: string;
  /** Parallel scrapes allowed; 0 = unlimited. @default 10 */
  readonly maxRequests: number;
  /** Longest a response may take to write (slow readers are cut off); 0 = none. @default 60000 */
  readonly writeTimeoutMs?: number;
  /** Add target_info to the custom-resource endpoint. @default false */
  readonly targetInfo: boolean;
  /** Serve POST /-/reload. @default false */
  readonly enableLifecycle?: boolean;
  /** Reload when the config file changes. @default true */
  readonly watchConfigFile?: boolean;
  /** See PipelineOptions.reloadSettleTimeoutMs. @default 10000 */
  readonly reloadSettleTimeoutMs?: number;
  // --- issue 9 hooks: web config / auth filter / sharding ---
  /** TLS and authentication for both listeners (web config, auth filter). @default plain HTTP */
  readonly listenerSecurity?: Pick<HttpServerOptions, 'createServer' | 'guard'>;
  /** Called once with the self-metrics meter, for instruments defined elsewhere (shards). */
  readonly onSelfMeter?: (meter: Meter) => void;
}

/** How long shutdown lets in-flight scrapes and the final OTLP export take. */
const SHUTDOWN_GRACE_MS = 800;
const FINAL_EXPORT_TIMEOUT_MS = 700;

/**
 * The running bridge: the pipeline (config → cache ← sources), one MeterProvider whose readers
 * (Prometheus pull, OTLP push) read the pipeline's cache at collection time, and the listeners.
 */
export class BridgeService implements BridgeStatus {
  readonly version = BRIDGE_VERSION;
  private readonly _o: BridgeServiceOptions;
  private readonly _telemetry: Telemetry;
  private readonly _pipeline: Pipeline;
  private readonly _servers: HttpServer[] = [];
  private _stopping: Promise<void> | undefined;

  constructor(options: BridgeServiceOptions) {
    this._o = options;
    this._telemetry = createTelemetry({
      otel: options.otel,
      logger: options.logger,
      version: BRIDGE_VERSION,
      revision: gitRevision(),
      targetInfo: options.targetInfo,
    });
    this._pipeline = new Pipeline({
      initial: options.config,
      sources: options.sources,
      selfMetrics: this._telemetry.selfMetrics,
      logger: options.logger,
      watchConfigFile: options.watchConfigFile,
      reloadSettleTimeoutMs: options.reloadSettleTimeoutMs,
    });
    options.onSelfMeter?.(this._telemetry.meterProvider.getMeter(SELF_METRICS_SCOPE, BRIDGE_VERSION));
    const pipeline = this._pipeline;
    this._telemetry.observe({
      cache: () => pipeline.cache,
      config: () => pipeline.config,
      sources: () => pipeline.sources,
    });
  }

  get selfMetrics(): SelfMetrics {
    return this._telemetry.selfMetrics;
  }

  get cache(): SeriesCache {
    return this._pipeline.cache;
  }

  get objectCount(): number {
    return this._pipeline.cache.objectCount;
  }

  notSynced(): readonly string[] {
    return this._pipeline.notSynced();
  }

  scrapeCustomResources(format: ExpositionFormat): Promise<AsyncIterable<string>> | undefined {
    return this._telemetry.pullReader?.scrapeCustomResources(format);
  }

  scrapeSelfMetrics(format: ExpositionFormat): Promise<string> | undefined {
    return this._telemetry.pullReader?.scrapeSelfMetrics(format);
  }

  reload(trigger: ReloadTrigger = 'http'): Promise<ReloadOutcome> {
    return this._pipeline.reload(trigger);
  }

  /**
   * Binds the listeners (so probes answer at once); throws StartupError naming the address when
   * one cannot be bound.
   */
  async listen(): Promise<{ main: string; telemetry: string | undefined }> {
    const o = this._o;
    const routeOptions = { metricsPath: o.telemetryPath, enableLifecycle: o.enableLifecycle ?? false };
    const listeners = [
      {
        name: 'main',
        flag: '--web.listen-address',
        address: o.listenAddress,
        routes: mainRoutes(this, routeOptions),
      },
      ...(o.telemetryAddress
        ? [
            {
              name: 'telemetry',
              flag: '--telemetry.listen-address',
              address: o.telemetryAddress,
              routes: telemetryRoutes(this, routeOptions),
            },
          ]
        : []),
    ];
    const bound: string[] = [];
    for (const l of listeners) {
      const server = new HttpServer({
        name: l.name,
        address: l.address,
        routes: l.routes,
        logger: o.logger,
        limitedPaths: new Set([o.telemetryPath]),
        maxInFlight: o.maxRequests,
        writeTimeoutMs: o.writeTimeoutMs,
        ...o.listenerSecurity,
      });
      try {
        bound.push(await server.listen());
      } catch (err) {
        const shown = `${l.address.host?.includes(':') ? `[${l.address.host}]` : (l.address.host ?? '')}:${l.address.port}`;
        throw new StartupError(`cannot listen on ${shown} (${l.flag}): ${listenErrorText(err)}`, {
          cause: err,
        });
      }
      this._servers.push(server);
    }
    for (const push of this._telemetry.pushTargets) o.logger.info(push, 'OTLP push enabled');
    return { main: bound[0]!, telemetry: bound[1] };
  }

  /** Starts the sources; the promise settles when the first config has synced (for logs only). */
  start(): Promise<void> {
    return this._pipeline.start();
  }

  /**
   * Stops within about two seconds whatever the state: sources stop (aborting lists and watches),
   * in-flight scrapes get SHUTDOWN_GRACE_MS to finish, the final OTLP export
   * FINAL_EXPORT_TIMEOUT_MS. Safe to call twice.
   */
  stop(): Promise<void> {
    this._stopping ??= (async () => {
      await Promise.all([
        this._pipeline.stop(),
        Promise.allSettled(this._servers.map((s) => s.close(SHUTDOWN_GRACE_MS))),
        this._telemetry.shutdown(FINAL_EXPORT_TIMEOUT_MS),
      ]);
      metrics.disable();
    })();
    return this._stopping;
  }
}

function listenErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
