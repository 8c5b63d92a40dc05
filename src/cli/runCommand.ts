import { Bridge } from '../app/Bridge.ts';
import type { BridgeOptions } from '../app/Bridge.ts';
import { StartupError } from '../app/StartupError.ts';
import { ConfigError } from '../config/ConfigError.ts';
import type { CommandIo } from './CommandIo.ts';
import type { FlagNotice } from './ksmFlags.ts';
import { reportConfigError } from './loadCompiledConfig.ts';
import { createLogger } from './logger.ts';
import type { LogFormat, LogLevel } from './logOptions.ts';

/** `run`'s flags, parsed: the bridge's options plus how to log. */
export interface RunOptions extends Omit<BridgeOptions, 'logger'> {
  readonly logLevel: LogLevel;
  /** @default 'json' */
  readonly logFormat?: LogFormat;
  /** Lines about accepted flags (kube-state-metrics flags with no effect here), logged at start. */
  readonly notices?: readonly FlagNotice[];
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
  const logger = createLogger(options.logLevel, options.logFormat);
  // Warnings (flags that change nothing here) come first; information (the budgets in force) only
  // once the bridge starts, so that a start-up failure stays one line.
  const notices = options.notices ?? [];
  for (const notice of notices) if (notice.level !== 'info') logger[notice.level](notice.message);
  let bridge: Bridge;
  try {
    bridge = await Bridge.create({ ...options, logger });
  } catch (err) {
    return reportExpected(err, io);
  }
  let addresses;
  try {
    addresses = await bridge.listen();
  } catch (err) {
    await bridge.stop();
    return reportExpected(err, io);
  }
  const path = options.telemetryPath ?? '/metrics';
  logger.info(
    {
      config: options.config,
      resources: bridge.loaded.config.resources.length,
      families: bridge.loaded.config.families.length,
      source: options.source,
      otel: bridge.otelOrigin,
      main: addresses.main,
      telemetry: addresses.telemetry,
      path,
    },
    'crd-metrics-bridge listening',
  );
  for (const notice of notices) if (notice.level === 'info') logger.info(notice.message);
  const onHangup = () => void bridge.reload('signal');
  signals.on('SIGHUP', onHangup);
  const synced = bridge.start().then(() => 'synced' as const);
  const first = await Promise.race([synced, stopped]);
  if (first === 'synced') io.stdout(banner(bridge, addresses.main, path));
  const signal = await stopped;
  signals.off('SIGHUP', onHangup);
  const began = Date.now();
  logger.info({ signal }, 'shutting down');
  await bridge.stop();
  logger.info({ ms: Date.now() - began }, 'stopped');
  return 0;
}

/**
 * The line that tells a person at a terminal where the series are: the Prometheus endpoint, or
 * where they are pushed when that endpoint is off (OTEL_METRICS_EXPORTER=otlp).
 */
function banner(bridge: Bridge, main: string, path: string): string {
  const n = bridge.objectCount;
  const serving = `crd-metrics-bridge is serving ${n} object${n === 1 ? '' : 's'}`;
  if (bridge.servesPrometheus) {
    const port = main.split(':').pop();
    const host = main.startsWith('0.0.0.0:') || main.startsWith('[::]:') ? `localhost:${port}` : main;
    return `${serving}: open ${bridge.scheme}://${host}${path}\n`;
  }
  const targets = bridge.pushTargets;
  if (targets.length > 0) return `${serving}: pushing OTLP to ${targets.join(', ')}\n`;
  return `${serving}, but no exporter is on (OTEL_METRICS_EXPORTER)\n`;
}

/** One line for expected problems (exit 1); anything else is a bug and propagates with its stack. */
function reportExpected(err: unknown, io: CommandIo): number {
  if (err instanceof ConfigError) {
    reportConfigError(err, io);
    return 1;
  }
  if (err instanceof StartupError) {
    io.stderr(`error: ${err.message}\n`);
    return 1;
  }
  throw err;
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
