import { execFile } from 'node:child_process';
import { freePort } from '../harness/ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess } from '../harness/processes.ts';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (never throws for a non-zero exit). */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

export interface ServedBridge {
  /** The custom resource endpoint's body. */
  readonly metrics: string;
  /** The telemetry endpoint's body (the bridge's own metrics). */
  readonly telemetry: string;
  /** How the process ended after SIGTERM. */
  readonly exit: string;
  readonly log: string;
}

/**
 * Starts `command ...prefix run` on free loopback ports, waits for /readyz, scrapes both endpoints,
 * then stops it with SIGTERM and reports how it exited.
 */
export async function serveAndScrape(options: {
  command: string;
  prefix: readonly string[];
  config: string;
  source: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}): Promise<ServedBridge> {
  const dir = makePeerDir('installed-bridge');
  const [port, telemetryPort] = [await freePort(), await freePort()];
  try {
    const proc = await startProcess({
      name: 'crd-metrics-bridge',
      command: options.command,
      args: [
        ...options.prefix,
        'run',
        `--config=${options.config}`,
        `--source=${options.source}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--telemetry.listen-address=127.0.0.1:${telemetryPort}`,
      ],
      env: options.env,
      cwd: options.cwd,
      logDir: dir,
      ready: { url: `http://127.0.0.1:${port}/readyz` },
      startTimeoutMs: 60_000,
    });
    const metrics = await httpRequest(`http://127.0.0.1:${port}/metrics`, { timeoutMs: 30_000 });
    const telemetry = await httpRequest(`http://127.0.0.1:${telemetryPort}/metrics`, { timeoutMs: 30_000 });
    await proc.stop();
    return {
      metrics: metrics.body,
      telemetry: telemetry.body,
      exit: proc.describeExit(),
      log: proc.logTail(40),
    };
  } finally {
    removePeerDir(dir);
  }
}
