import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findBinary, repoRoot } from './binaries.ts';
import { freePort } from './ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess } from './processes.ts';

export const COLLECTOR_BINARY = 'otelcol-bridge-test';
export const COLLECTOR_CONFIG: string = path.join(repoRoot, 'otel-config', 'collector-test.yaml');

export interface CollectorOptions {
  /** Default otel-config/collector-test.yaml. */
  configFile?: string;
  startTimeoutMs?: number;
  /** Reuse this OTLP address (e.g. to bring a Collector back where the previous one was). */
  otlpHttpEndpoint?: string;
  /** More environment for the config's ${env:...} references (e.g. REMOTE_WRITE_URL). */
  env?: Record<string, string>;
  /**
   * Whether the config has the test config's Prometheus exporter, which readiness then also
   * waits for. Default true; false for configs without it (e.g. collector-remote-write.yaml).
   */
  prometheusExporter?: boolean;
}

export interface CollectorHandle {
  /** Base URL of the OTLP/HTTP receiver, e.g. http://127.0.0.1:43181 (POST /v1/metrics). */
  readonly otlpHttpEndpoint: string;
  /** Base URL of the Prometheus exporter; scrape `${prometheusUrl}/metrics`. */
  readonly prometheusUrl: string;
  /** Base URL of the Collector's own metrics. */
  readonly telemetryUrl: string;
  readonly fileExportPath: string;
  readonly logFile: string;
  /** Every OTLP/JSON document the file exporter has flushed so far, one per line. */
  readFileExport(): Promise<unknown[]>;
  /** Polls readFileExport until `predicate` accepts it (default: non-empty). */
  waitForFileExport(predicate?: (documents: unknown[]) => boolean, timeoutMs?: number): Promise<unknown[]>;
  stop(): Promise<void>;
}

/**
 * Environment for a bridge that keeps its Prometheus endpoint and pushes OTLP/HTTP to this
 * Collector every `intervalMs`; `extra` adds variables or overrides these.
 */
export function otlpPushEnv(
  collector: Pick<CollectorHandle, 'otlpHttpEndpoint'>,
  intervalMs: number,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    OTEL_METRICS_EXPORTER: 'prometheus,otlp',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${collector.otlpHttpEndpoint}/v1/metrics`,
    OTEL_METRIC_EXPORT_INTERVAL: String(intervalMs),
    ...extra,
  };
}

function readJsonLines(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  // The exporter flushes whole lines, but a read can still race a flush that
  // is half written: a final line without its newline is not a document yet.
  if (!text.endsWith('\n')) lines.pop();
  return lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
}

export async function startCollector(options: CollectorOptions = {}): Promise<CollectorHandle> {
  const binary = findBinary(COLLECTOR_BINARY);
  const dir = makePeerDir('otelcol');
  try {
    const otlpPort = options.otlpHttpEndpoint
      ? Number(new URL(options.otlpHttpEndpoint).port)
      : await freePort();
    const [promPort, telemetryPort] = [await freePort(), await freePort()];
    const fileExportPath = path.join(dir, 'export.jsonl');
    const otlpHttpEndpoint = `http://127.0.0.1:${otlpPort}`;
    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    const telemetryUrl = `http://127.0.0.1:${telemetryPort}`;
    const proc = await startProcess({
      name: 'otelcol',
      command: binary,
      args: [`--config=file:${options.configFile ?? COLLECTOR_CONFIG}`],
      env: {
        ...process.env,
        OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpPort}`,
        FILE_EXPORT_PATH: fileExportPath,
        PROM_EXPORT_ENDPOINT: `127.0.0.1:${promPort}`,
        COLLECTOR_TELEMETRY_PORT: String(telemetryPort),
        ...options.env,
      },
      cwd: dir,
      logDir: dir,
      // Exporters start before receivers, so the Prometheus exporter answering
      // is not enough; the receiver answers GET with 405, which proves it listens.
      ready: async () => {
        const receiver = await httpRequest(`${otlpHttpEndpoint}/v1/metrics`, { timeoutMs: 1000 });
        if (options.prometheusExporter === false) return receiver.status > 0;
        const exporter = await httpRequest(`${prometheusUrl}/metrics`, { timeoutMs: 1000 });
        return exporter.status === 200 && receiver.status > 0;
      },
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    });

    const readFileExport = (): Promise<unknown[]> => Promise.resolve(readJsonLines(fileExportPath));
    const waitForFileExport = async (
      predicate: (documents: unknown[]) => boolean = (documents) => documents.length > 0,
      timeoutMs = 10_000,
    ): Promise<unknown[]> => {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const documents = readJsonLines(fileExportPath);
        if (predicate(documents)) return documents;
        if (Date.now() > deadline) {
          throw new Error(
            `waitForFileExport timed out after ${timeoutMs}ms with ${documents.length} document(s) in ${fileExportPath}\n` +
              `--- last lines of ${proc.logFile} ---\n${proc.logTail(20)}`,
          );
        }
        await delay(100);
      }
    };

    return {
      otlpHttpEndpoint,
      prometheusUrl,
      telemetryUrl,
      fileExportPath,
      logFile: proc.logFile,
      readFileExport,
      waitForFileExport,
      stop: async () => {
        await proc.stop();
        removePeerDir(dir);
      },
    };
  } catch (error) {
    removePeerDir(dir);
    throw error;
  }
}
