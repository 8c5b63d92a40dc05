import path from 'node:path';
import { repoRoot } from '../harness/binaries.ts';
import { freePort } from '../harness/ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess, tailFile } from '../harness/processes.ts';
import type { HttpRequestOptions, ManagedProcess } from '../harness/processes.ts';

export interface BridgeHandle {
  /** http://127.0.0.1:port of the main listener. */
  readonly url: string;
  /** host:port of the main listener, for scrape configs. */
  readonly address: string;
  readonly telemetryUrl: string;
  readonly process: ManagedProcess;
  scrape(accept?: string): Promise<{ status: number; contentType: string; body: string }>;
  log(): string;
  stop(): Promise<void>;
}

/** Starts the real CLI (`run`) as a child process on free loopback ports and waits for /readyz. */
export async function startBridge(options: {
  config: string;
  source: string;
  env?: NodeJS.ProcessEnv;
  extraArgs?: string[];
  waitForReady?: boolean;
  /** The bridge serves HTTPS (web config): trust anchor and client certificate for its probes. */
  tls?: Pick<HttpRequestOptions, 'ca' | 'cert' | 'key'>;
}): Promise<BridgeHandle> {
  const dir = makePeerDir('bridge');
  const [port, telemetryPort] = [await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://${address}`;
  const proc = await startProcess({
    name: 'crd-metrics-bridge',
    command: process.execPath,
    args: [
      path.join(repoRoot, 'bin', 'crd-metrics-bridge.js'),
      'run',
      `--config=${options.config}`,
      `--source=${options.source}`,
      `--web.listen-address=${address}`,
      `--telemetry.listen-address=127.0.0.1:${telemetryPort}`,
      '--log.level=debug',
      ...(options.extraArgs ?? []),
    ],
    env: { ...process.env, OTEL_METRICS_EXPORTER: 'prometheus', ...options.env },
    cwd: repoRoot,
    logDir: dir,
    ready: {
      url: `${url}/${options.waitForReady === false ? 'healthz' : 'readyz'}`,
      ...(options.tls ? { request: options.tls } : {}),
    },
    startTimeoutMs: 60_000,
    stopTimeoutMs: 10_000,
  });
  return {
    url,
    address,
    telemetryUrl: `${scheme}://127.0.0.1:${telemetryPort}`,
    process: proc,
    async scrape(accept?: string) {
      const r = await httpRequest(`${url}/metrics`, {
        headers: accept ? { accept } : {},
        timeoutMs: 30_000,
        ...options.tls,
      });
      return { status: r.status, contentType: String(r.headers['content-type'] ?? ''), body: r.body };
    },
    log: () => tailFile(proc.logFile, 80),
    async stop() {
      await proc.stop();
      removePeerDir(dir);
    },
  };
}

/** Sample lines (no comments) whose metric name starts with `prefix`. */
export function samples(exposition: string, prefix: string): string[] {
  return exposition.split('\n').filter((l) => l.startsWith(prefix));
}
