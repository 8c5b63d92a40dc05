import { MemoryReturn } from './MemoryReturn.ts';
import { metrics } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { formatProblem } from '../config/ConfigError.ts';
import type { SeriesLimits } from '../engine/limits.ts';
import type { SeriesCache } from '../engine/store/SeriesCache.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import type { EncodedBody } from '../exposition/ExpositionBody.ts';
import { HttpServer } from '../http/HttpServer.ts';
import { parseListenAddress } from '../http/listenAddress.ts';
import type { ListenAddress } from '../http/listenAddress.ts';
import { WebConfigError } from '../http/WebConfigLoader.ts';
import { KubeClient, KubeCredentialsError } from '../kube/KubeClient.ts';
import { ShardingError } from '../kube/sharding.ts';
import { createTelemetry } from '../otel/createTelemetry.ts';
import type { Telemetry } from '../otel/createTelemetry.ts';
import { otelSettingsFromEnv, OtelSettingsError, withClusterName } from '../otel/OtelSettings.ts';
import type { OtelSettings } from '../otel/OtelSettings.ts';
import { SELF_METRICS_SCOPE } from '../otel/SelfMetrics.ts';
import type { SelfMetrics } from '../otel/SelfMetrics.ts';
import { gitRevision, VERSION } from '../version.ts';
import { createSources, parseSource } from './createSources.ts';
import type { SourceFactory, SourceSetup } from './createSources.ts';
import { listenerSecurity } from './listenerSecurity.ts';
import type { ListenerSecurity, ListenerSecurityFlags } from './listenerSecurity.ts';
import { Pipeline } from './Pipeline.ts';
import type { ReloadOutcome, ReloadTrigger } from './Pipeline.ts';
import { readConfigFile } from './readConfigFile.ts';
import type { LoadedConfig } from './readConfigFile.ts';
import { mainRoutes, telemetryRoutes } from './routes.ts';
import type { BridgeStatus } from './routes.ts';
import { setUpSharding } from './sharding.ts';
import type { Sharding, ShardingFlags } from './sharding.ts';
import { StartupError } from './StartupError.ts';

/** Everything `run` is told, as plain values (the CLI's flags, parsed). */
export interface BridgeOptions extends ListenerSecurityFlags, ShardingFlags {
  /** The config file (with `configText`, only the name shown in messages and self-metrics). */
  readonly config: string;
  /** The config itself, given inline (kube-state-metrics' --custom-resource-state-config). */
  readonly configText?: string | undefined;
  /** `files:DIR` or `kubernetes` (ignored with `sourceFactory`). */
  readonly source: string;
  readonly logger: Logger;
  /** Main listener: custom-resource metrics and health. @default ':8080' */
  readonly listenAddress?: string;
  /** Listener for the bridge's own metrics; '' disables it. @default ':8081' */
  readonly telemetryListenAddress?: string;
  /** Path of the metrics endpoint on both listeners. @default '/metrics' */
  readonly telemetryPath?: string;
  /** Parallel scrapes allowed; 0 = unlimited. @default 10 */
  readonly maxRequests?: number;
  /** Longest a response may take to write (slow readers are cut off); 0 = none. @default 60000 */
  readonly writeTimeoutMs?: number;
  /**
   * How old a state compressed ahead of a foreseen gzip scrape may be when it answers one (see
   * GzipLookahead); 0 = never. @default DEFAULT_GZIP_MAX_STALENESS_MS
   */
  readonly gzipMaxStalenessMs?: number;
  /** Serve POST /-/reload. @default false */
  readonly enableLifecycle?: boolean;
  /** Add target_info to the custom-resource endpoint. @default false */
  readonly targetInfo?: boolean;
  /** @default KUBECONFIG, ~/.kube/config, then in-cluster */
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  /** Watch only these namespaces, for every resource (kube-state-metrics' --namespaces). */
  readonly namespaces?: readonly string[] | undefined;
  /** Leave out these namespaces (kube-state-metrics' --namespaces-denylist). */
  readonly namespacesDenylist?: readonly string[] | undefined;
  /** The `--limits.*` flags (a resource's config `limits` win). @default built-in defaults */
  readonly limits?: Partial<SeriesLimits>;
  /** `k8s.cluster.name` of the OTLP resource (see withClusterName). */
  readonly clusterName?: string | undefined;
  /** Reload when the config file changes. @default true */
  readonly watchConfigFile?: boolean;
  /** See PipelineOptions.reloadSettleTimeoutMs. @default 10000 */
  readonly reloadSettleTimeoutMs?: number;
  /** The environment the OTEL_* settings are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** OpenTelemetry settings to use instead of reading `env` (benchmarks, tests). */
  readonly otel?: OtelSettings;
  /** Objects from these sources instead of `source` (benchmarks, tests). */
  readonly sourceFactory?: SourceFactory;
}

/** How long shutdown lets in-flight scrapes and the final OTLP export take. */
const SHUTDOWN_GRACE_MS = 800;
const FINAL_EXPORT_TIMEOUT_MS = 700;

/**
 * The running bridge, and the one place that assembles it: config, sources, web security and the
 * auth filter, sharding, one MeterProvider whose readers (Prometheus pull, OTLP push) read the
 * pipeline's cache at collection time, and the listeners. `create` checks everything that can be
 * checked before anything is served; expected problems (bad config, flags, credentials) are
 * thrown as ConfigError or StartupError.
 */
export class Bridge implements BridgeStatus {
  readonly version = VERSION;
  /** The config as first loaded (the pipeline reloads it). */
  readonly loaded: LoadedConfig;
  /** The scheme both listeners speak. */
  readonly scheme: 'http' | 'https';
  /** Where OTel settings came from, for the startup log. */
  readonly otelOrigin: string;
  private readonly _o: BridgeOptions;
  private readonly _sources: SourceSetup;
  private readonly _security: ListenerSecurity;
  private readonly _sharding: Sharding;
  /** A client opened only for the auth filter or auto-sharding (files source). */
  private readonly _ownClient: KubeClient | undefined;
  private readonly _listenAddress: ListenAddress;
  private readonly _telemetryAddress: ListenAddress | undefined;
  private readonly _telemetry: Telemetry;
  private readonly _pipeline: Pipeline;
  private readonly _servers: HttpServer[] = [];
  private _stopping: Promise<void> | undefined;
  private readonly _memoryReturn: MemoryReturn | undefined;

  private constructor(
    options: BridgeOptions,
    parts: {
      loaded: LoadedConfig;
      otel: OtelSettings;
      sources: SourceSetup;
      security: ListenerSecurity;
      sharding: Sharding;
      ownClient: KubeClient | undefined;
      listenAddress: ListenAddress;
      telemetryAddress: ListenAddress | undefined;
    },
  ) {
    this._o = options;
    this.loaded = parts.loaded;
    this.scheme = parts.security.scheme;
    this.otelOrigin = parts.otel.origin;
    this._sources = parts.sources;
    this._security = parts.security;
    this._sharding = parts.sharding;
    this._ownClient = parts.ownClient;
    this._listenAddress = parts.listenAddress;
    this._telemetryAddress = parts.telemetryAddress;
    const { logger } = options;
    this._telemetry = createTelemetry({
      otel: parts.sharding.withInstanceId(parts.otel),
      logger,
      version: VERSION,
      revision: gitRevision(),
      targetInfo: options.targetInfo ?? false,
      ...(options.gzipMaxStalenessMs === undefined ? {} : { gzipMaxStalenessMs: options.gzipMaxStalenessMs }),
    });
    this._pipeline = new Pipeline({
      initial: parts.loaded,
      sources: parts.sources.factory,
      accept: () => parts.sharding.accept(),
      selfMetrics: this._telemetry.selfMetrics,
      healthEvents: this._telemetry.healthMetrics,
      logger,
      watchConfigFile: options.watchConfigFile,
      reloadSettleTimeoutMs: options.reloadSettleTimeoutMs,
    });
    const pipeline = this._pipeline;
    const selfMeter = this._telemetry.meterProvider.getMeter(SELF_METRICS_SCOPE, VERSION);
    parts.sharding.registerMetrics(selfMeter, () => pipeline.shardObjects());
    parts.security.onSelfMeter(selfMeter);
    this._telemetry.observe({
      cache: () => pipeline.cache,
      config: () => pipeline.config,
      sources: () => pipeline.sources,
      budgets: () => pipeline.budgets,
    });
    for (const w of parts.loaded.config.warnings)
      logger.warn({ config: parts.loaded.file }, formatProblem(w));
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc === 'function')
      this._memoryReturn = new MemoryReturn({ seriesBytes: () => pipeline.budgets?.bytes, gc, logger });
  }

  /**
   * Reads and checks everything `run` needs (config, OTel settings, listen addresses, sources and
   * their credentials, web config, auth filter, sharding) and assembles the bridge; nothing is
   * served yet. Throws ConfigError or StartupError, each a one-line reason.
   */
  static async create(options: BridgeOptions): Promise<Bridge> {
    const { logger } = options;
    const loaded = await readConfigFile(options.config, { limits: options.limits ?? {} }, options.configText);
    let otel: OtelSettings;
    let listenAddress: ListenAddress;
    let telemetryAddress: ListenAddress | undefined;
    let sources: SourceSetup;
    try {
      const factory = options.sourceFactory;
      const source = factory ? undefined : parseSource(options.source);
      otel = withClusterName(options.otel ?? otelSettingsFromEnv(options.env), options.clusterName);
      listenAddress = otel.prometheusAddress ?? parseListenAddress(options.listenAddress ?? ':8080');
      const telemetry = options.telemetryListenAddress ?? ':8081';
      telemetryAddress = telemetry === '' ? undefined : parseListenAddress(telemetry);
      sources = source
        ? createSources(source, {
            logger,
            kubeconfig: options.kubeconfig,
            context: options.context,
            namespaces: options.namespaces,
            namespacesDenylist: options.namespacesDenylist,
          })
        : { factory: factory!, close: () => Promise.resolve() };
    } catch (err) {
      throw asStartupError(err);
    }
    let ownClient: KubeClient | undefined;
    const client = (): KubeClient => {
      if (sources.client) return sources.client;
      ownClient ??= new KubeClient({ kubeconfig: options.kubeconfig, context: options.context });
      return ownClient;
    };
    try {
      const security = listenerSecurity(options, logger, client);
      const sharding = await setUpSharding(options, logger, client);
      return new Bridge(options, {
        loaded,
        otel,
        sources,
        security,
        sharding,
        ownClient,
        listenAddress,
        telemetryAddress,
      });
    } catch (err) {
      await ownClient?.close();
      await sources.close();
      throw asStartupError(err);
    }
  }

  /** Whether the Prometheus endpoint serves (OTEL_METRICS_EXPORTER includes prometheus). */
  get servesPrometheus(): boolean {
    return this._telemetry.pullReader !== undefined;
  }

  /** Where OTLP is pushed (the exporters' URLs); empty without a push. */
  get pushTargets(): readonly string[] {
    return this._telemetry.pushTargets.map((t) => String(t.target));
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

  scrapeCustomResources(format: ExpositionFormat): Promise<EncodedBody> | undefined {
    return this._telemetry.pullReader?.scrapeCustomResources(format);
  }

  scrapeSelfMetrics(format: ExpositionFormat): Promise<string> | undefined {
    return this._telemetry.pullReader?.scrapeSelfMetrics(format);
  }

  /** `/explain`: the serving config, this replica's shard and the bridge's own client. */
  async explain(params: URLSearchParams): Promise<{ status: number; body: string }> {
    const { answerExplain } = await import('./explain/explainEndpoint.ts');
    return answerExplain(params, {
      config: this._pipeline.config,
      limitFlags: this._o.limits ?? {},
      namespaceFlags: { allow: this._o.namespaces ?? [], deny: this._o.namespacesDenylist ?? [] },
      shard: this._sharding.accept() ? this._sharding.assignment() : undefined,
      client: this._sources.client,
    });
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
    const telemetryPath = o.telemetryPath ?? '/metrics';
    const routeOptions = { metricsPath: telemetryPath, enableLifecycle: o.enableLifecycle ?? false };
    const listeners = [
      {
        name: 'main',
        flag: '--web.listen-address',
        address: this._listenAddress,
        routes: mainRoutes(this, routeOptions),
      },
      ...(this._telemetryAddress
        ? [
            {
              name: 'telemetry',
              flag: '--telemetry.listen-address',
              address: this._telemetryAddress,
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
        limitedPaths: new Set([telemetryPath]),
        maxInFlight: o.maxRequests ?? 10,
        writeTimeoutMs: o.writeTimeoutMs,
        ...this._security.http,
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

  /**
   * Starts the sources and, with auto-sharding, the StatefulSet watch (a new shard count rebuilds
   * the pipeline). The promise settles when the first config has synced (for logs only).
   */
  start(): Promise<void> {
    this._sharding.start(() => void this.reload('shards'));
    this._memoryReturn?.start();
    return this._pipeline.start();
  }

  /**
   * Stops within about two seconds whatever the state: sources stop (aborting lists and watches),
   * in-flight scrapes get SHUTDOWN_GRACE_MS to finish, the final OTLP export
   * FINAL_EXPORT_TIMEOUT_MS; then the connections to the API server close. Safe to call twice.
   */
  stop(): Promise<void> {
    this._stopping ??= (async () => {
      this._memoryReturn?.stop();
      await Promise.all([
        this._sharding.stop(),
        this._pipeline.stop(),
        Promise.allSettled(this._servers.map((s) => s.close(SHUTDOWN_GRACE_MS))),
        this._telemetry.shutdown(FINAL_EXPORT_TIMEOUT_MS),
      ]);
      metrics.disable();
      await this._ownClient?.close();
      await this._sources.close();
    })();
    return this._stopping;
  }
}

/** Expected start-up problems become StartupError (one line); anything else is a bug and stays as it is. */
function asStartupError(err: unknown): unknown {
  if (err instanceof StartupError) return err;
  if (
    err instanceof OtelSettingsError ||
    err instanceof WebConfigError ||
    err instanceof KubeCredentialsError ||
    err instanceof ShardingError ||
    (err instanceof Error && err.message.startsWith('invalid listen address'))
  )
    return new StartupError(err.message, { cause: err });
  return err;
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
