import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { formatProblem } from '../config/ConfigError.ts';
import { parseListenAddress } from '../http/listenAddress.ts';
import type { ListenAddress } from '../http/listenAddress.ts';
import { otelSettingsFromEnv, withClusterName } from '../otel/OtelSettings.ts';
import { BridgeService } from '../service/BridgeService.ts';
import { FileSource } from '../sources/FileSource.ts';
import { KubeClient } from '../kube/KubeClient.ts';
import { KubeSource } from '../kube/KubeSource.ts';
import type { ObjectSink, Source, SourceTelemetry } from '../sources/Source.ts';
import type { CommandIo } from './CommandIo.ts';
import { loadCompiledConfigOrReport } from './loadCompiledConfig.ts';
import type { CompiledConfig } from '../engine/compileConfig.ts';
import { createLogger } from './logger.ts';
import type { LogLevel } from './logger.ts';

export interface RunOptions {
  readonly config: string;
  readonly source: string;
  readonly webListenAddress: string;
  readonly telemetryListenAddress: string;
  readonly webTelemetryPath: string;
  readonly webMaxRequests: number;
  readonly logLevel: LogLevel;
  readonly targetInfo: boolean;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  /** `k8s.cluster.name` of the OTLP resource (see withClusterName). */
  readonly clusterName?: string | undefined;
}

/** Parses `--source`: `files:DIR` (the embedded default) or `kubernetes`. */
export function parseSource(text: string): { kind: 'files'; directory: string } | { kind: 'kubernetes' } {
  if (text.startsWith('files:') && text.length > 'files:'.length)
    return { kind: 'files', directory: text.slice('files:'.length) };
  if (text === 'kubernetes') return { kind: 'kubernetes' };
  throw new Error(`invalid --source "${text}" (use files:DIR or kubernetes)`);
}

/**
 * `run`: the long-running bridge. Exits non-zero on a bad config or bad flags before binding any
 * port; afterwards it runs until SIGTERM/SIGINT and shuts down gracefully.
 */
export async function runCommand(
  options: RunOptions,
  io: CommandIo,
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  const logger = createLogger(options.logLevel);
  const config = await loadCompiledConfigOrReport(options.config, io);
  if (!config) return 1;
  for (const w of config.warnings) logger.warn({ config: options.config }, formatProblem(w));
  let source;
  let otel;
  let listen: ListenAddress;
  let telemetry: ListenAddress | undefined;
  try {
    source = parseSource(options.source);
    otel = withClusterName(otelSettingsFromEnv(), options.clusterName);
    listen = otel.prometheusAddress ?? parseListenAddress(options.webListenAddress);
    telemetry =
      options.telemetryListenAddress === '' ? undefined : parseListenAddress(options.telemetryListenAddress);
  } catch (err) {
    // OtelSettingsError, or a bad --source / listen address.
    if (err instanceof Error) {
      io.stderr(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  let makeSources: (config: CompiledConfig, sink: ObjectSink, telemetry: SourceTelemetry) => Source[];
  let closeClient = (): Promise<void> => Promise.resolve();
  if (source.kind === 'kubernetes') {
    let client: KubeClient;
    try {
      client = new KubeClient({ kubeconfig: options.kubeconfig, context: options.context });
      closeClient = () => client.close();
    } catch (err) {
      io.stderr(`error: cannot load Kubernetes credentials: ${(err as Error).message}\n`);
      return 1;
    }
    makeSources = (current, sink, telemetry) => [
      new KubeSource({
        client,
        resources: current.resources.map((r) => r.config),
        sink,
        logger,
        observer: telemetry,
      }),
    ];
  } else {
    const directory = resolve(source.directory);
    makeSources = (_current, sink) => [new FileSource({ directory, sink, logger })];
  }
  const service = new BridgeService({
    config,
    sources: makeSources,
    otel,
    logger,
    listenAddress: listen,
    telemetryAddress: telemetry,
    telemetryPath: options.webTelemetryPath,
    maxRequests: options.webMaxRequests,
    targetInfo: options.targetInfo,
  });
  logger.info(
    {
      config: options.config,
      resources: config.resources.length,
      families: config.families.length,
      source: options.source,
      otel: otel.origin,
    },
    'starting crd-metrics-bridge',
  );
  service.selfMetrics.configLoaded(options.config, true, await configHash(options.config));
  const stopped = waitForSignal(signals, logger);
  const onHangup = () => {
    // One reload at a time; a SIGHUP during a reload queues one more.
    reloading = reloading.then(() => reloadConfig(options.config, service, logger));
  };
  let reloading = Promise.resolve();
  signals.on('SIGHUP', onHangup);
  try {
    const { main } = await service.start();
    const url = `http://${main.startsWith('0.0.0.0:') || main.startsWith('[::]:') ? `localhost:${main.split(':').pop()}` : main}${options.webTelemetryPath}`;
    io.stdout(
      `crd-metrics-bridge is serving ${service.cache.objectCount} object${service.cache.objectCount === 1 ? '' : 's'}: open ${url}\n`,
    );
  } catch (err) {
    logger.error({ err }, 'failed to start');
    await service.stop();
    return 1;
  }
  const signal = await stopped;
  signals.off('SIGHUP', onHangup);
  logger.info({ signal }, 'shutting down');
  await reloading;
  await service.stop();
  await closeClient();
  logger.info('stopped');
  return 0;
}

/** SIGHUP: re-reads the config; a bad one is reported and the running config stays. */
async function reloadConfig(file: string, service: BridgeService, logger: Logger): Promise<void> {
  const problems: string[] = [];
  const config = await loadCompiledConfigOrReport(file, {
    stdout: () => undefined,
    stderr: (t) => void problems.push(t.trim()),
  });
  if (!config) {
    logger.error({ config: file, problems }, 'config reload failed; keeping the running config');
    service.selfMetrics.configLoaded(file, false);
    return;
  }
  try {
    await service.reload(config);
    service.selfMetrics.configLoaded(file, true, await configHash(file));
  } catch (err) {
    logger.error(
      { config: file, err },
      'config reload failed while starting its sources; keeping the running config',
    );
    service.selfMetrics.configLoaded(file, false);
  }
}

/** First 52 bits of the file's SHA-256, as a number (kube-state-metrics' config_hash idea). */
async function configHash(file: string): Promise<number> {
  const digest = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  return parseInt(digest.slice(0, 13), 16);
}

function waitForSignal(signals: NodeJS.EventEmitter, logger: Logger): Promise<string> {
  return new Promise((resolveSignal) => {
    const handler = (signal: string) => {
      signals.off('SIGTERM', handler);
      signals.off('SIGINT', handler);
      resolveSignal(signal);
    };
    signals.on('SIGTERM', handler);
    signals.on('SIGINT', handler);
    logger.debug('waiting for SIGTERM or SIGINT');
  });
}
