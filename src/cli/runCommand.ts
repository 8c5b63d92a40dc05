import type { Logger } from 'pino';
import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import { parseListenAddress } from '../http/listenAddress.ts';
import type { ListenAddress } from '../http/listenAddress.ts';
import { otelSettingsFromEnv, OtelSettingsError, withClusterName } from '../otel/OtelSettings.ts';
import type { OtelSettings } from '../otel/OtelSettings.ts';
import { BridgeService } from '../service/BridgeService.ts';
import { createSources, parseSource } from '../service/createSources.ts';
import type { SourceSetup } from '../service/createSources.ts';
import { readConfigFile } from '../service/Pipeline.ts';
import type { LoadedConfig } from '../service/Pipeline.ts';
import { StartupError } from '../service/StartupError.ts';
import type { CommandIo } from './CommandIo.ts';
import { reportConfigError } from './loadCompiledConfig.ts';
import type { SeriesLimits } from '../engine/limits.ts';
import { createLogger } from './logger.ts';
import type { LogFormat, LogLevel } from './logOptions.ts';
import type { ListenerSecurityFlags } from './listenerSecurity.ts';
import { setUpRunExtras } from './runExtras.ts';
import type { RunExtras } from './runExtras.ts';
import type { ShardingFlags } from './sharding.ts';

export interface RunOptions extends ListenerSecurityFlags, ShardingFlags {
  readonly config: string;
  readonly source: string;
  readonly webListenAddress: string;
  readonly telemetryListenAddress: string;
  readonly webTelemetryPath: string;
  readonly webMaxRequests: number;
  /** Longest a response may take to write; 0 = none. @default 60000 */
  readonly webWriteTimeoutMs?: number;
  /** Serve POST /-/reload. @default false */
  readonly webEnableLifecycle?: boolean;
  readonly logLevel: LogLevel;
  /** @default 'json' */
  readonly logFormat?: LogFormat;
  readonly targetInfo: boolean;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  /** The `--limits.*` flags (a resource's config `limits` win). @default built-in defaults */
  readonly limits?: Partial<SeriesLimits>;
  /** `k8s.cluster.name` of the OTLP resource (see withClusterName). */
  readonly clusterName?: string | undefined;
}

/**
 * `run`: the long-running bridge. Bad config, flags or setup (no credentials, a missing
 * directory, a busy port) exit 1 with one line and no stack trace, before anything is served.
 * Afterwards SIGTERM/SIGINT stop it within about two seconds at any moment (first sync included);
 * SIGHUP reloads the config.
 */
export async function runCommand(
  options: RunOptions,
  io: CommandIo,
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  // Listen for signals first: a SIGTERM during startup must stop it, not be ignored.
  const stopped = waitForSignal(signals);
  try {
    return await run(options, io, signals, stopped.signal);
  } finally {
    stopped.dispose();
  }
}

async function run(
  options: RunOptions,
  io: CommandIo,
  signals: NodeJS.EventEmitter,
  stopped: Promise<string>,
): Promise<number> {
  let config: LoadedConfig;
  let otel: OtelSettings;
  let listen: ListenAddress;
  let telemetry: ListenAddress | undefined;
  let sources: SourceSetup;
  const logger = createLogger(options.logLevel, options.logFormat);
  try {
    config = await readConfigFile(options.config, { limits: options.limits ?? {} });
    const source = parseSource(options.source);
    otel = withClusterName(otelSettingsFromEnv(), options.clusterName);
    listen = otel.prometheusAddress ?? parseListenAddress(options.webListenAddress);
    telemetry =
      options.telemetryListenAddress === '' ? undefined : parseListenAddress(options.telemetryListenAddress);
    sources = createSources(source, { logger, kubeconfig: options.kubeconfig, context: options.context });
  } catch (err) {
    return reportExpected(err, io);
  }
  // --- issue 9: web config, auth filter, sharding ---
  let extras: RunExtras;
  try {
    extras = await setUpRunExtras(options, logger, sources.client);
  } catch (err) {
    await sources.close();
    return reportExpected(err, io);
  }
  // --- end issue 9 ---
  for (const w of config.config.warnings) logger.warn({ config: options.config }, formatProblem(w));
  const service = new BridgeService({
    config,
    sources: extras.sharding.wrapSources(sources.factory),
    otel: extras.sharding.withInstanceId(otel),
    logger,
    listenAddress: listen,
    telemetryAddress: telemetry,
    telemetryPath: options.webTelemetryPath,
    maxRequests: options.webMaxRequests,
    writeTimeoutMs: options.webWriteTimeoutMs,
    enableLifecycle: options.webEnableLifecycle,
    targetInfo: options.targetInfo,
    listenerSecurity: extras.security.http,
    onSelfMeter: (meter) => {
      extras.sharding.onSelfMeter(meter);
      extras.security.onSelfMeter(meter);
    },
  });
  let addresses;
  try {
    addresses = await service.listen();
  } catch (err) {
    await service.stop();
    await extras.close();
    await sources.close();
    return reportExpected(err, io);
  }
  logger.info(
    {
      config: options.config,
      resources: config.config.resources.length,
      families: config.config.families.length,
      source: options.source,
      otel: otel.origin,
      main: addresses.main,
      telemetry: addresses.telemetry,
      path: options.webTelemetryPath,
    },
    'crd-metrics-bridge listening',
  );
  const onHangup = () => void service.reload('signal');
  signals.on('SIGHUP', onHangup);
  // Auto-sharding: a scaled StatefulSet rebuilds the pipeline with the new assignment (issue 9).
  extras.sharding.start(() => void service.reload('shards'));
  const synced = service.start().then(() => 'synced' as const);
  const first = await Promise.race([synced, stopped]);
  if (first === 'synced') {
    const main = addresses.main;
    const port = main.split(':').pop();
    const host = main.startsWith('0.0.0.0:') || main.startsWith('[::]:') ? `localhost:${port}` : main;
    const n = service.objectCount;
    io.stdout(
      `crd-metrics-bridge is serving ${n} object${n === 1 ? '' : 's'}: open ${extras.security.scheme}://${host}${options.webTelemetryPath}\n`,
    );
  }
  const signal = await stopped;
  signals.off('SIGHUP', onHangup);
  await extras.close();
  await shutDown(service, sources, logger, signal);
  return 0;
}

async function shutDown(service: BridgeService, sources: SourceSetup, logger: Logger, signal: string) {
  const began = Date.now();
  logger.info({ signal }, 'shutting down');
  await service.stop();
  await sources.close();
  logger.info({ ms: Date.now() - began }, 'stopped');
}

/** One line for expected problems (exit 1); anything else is a bug and propagates with its stack. */
function reportExpected(err: unknown, io: CommandIo): number {
  if (err instanceof ConfigError) {
    reportConfigError(err, io);
    return 1;
  }
  if (err instanceof StartupError || err instanceof OtelSettingsError || isListenAddressError(err)) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return 1;
  }
  throw err;
}

function isListenAddressError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('invalid listen address');
}

function waitForSignal(signals: NodeJS.EventEmitter): { signal: Promise<string>; dispose(): void } {
  let handler: (signal: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => {
    handler = (name: string) => resolve(name);
  });
  const onTerm = () => handler('SIGTERM');
  const onInt = () => handler('SIGINT');
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  return {
    signal,
    dispose() {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
    },
  };
}
