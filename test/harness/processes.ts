import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

// ---------------------------------------------------------------- HTTP

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** PEM trust anchors for https (the peers use self-signed CAs). */
  ca?: string | Buffer;
  /** PEM client certificate and key for https client-cert authentication. */
  cert?: string | Buffer;
  key?: string | Buffer;
  timeoutMs?: number;
}

/**
 * Minimal HTTP(S) client. global fetch cannot be given a private CA or a
 * client certificate without undici's Agent, which is not a dependency here.
 */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise<HttpResponse>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    };
    // agent: false so no keep-alive socket outlives the request and holds the test process open.
    const request =
      target.protocol === 'https:'
        ? https.request(
            target,
            {
              method,
              headers: options.headers,
              ca: options.ca,
              cert: options.cert,
              key: options.key,
              agent: false,
            },
            onResponse,
          )
        : http.request(target, { method, headers: options.headers, agent: false }, onResponse);
    request.setTimeout(timeoutMs, () =>
      request.destroy(new Error(`no response within ${timeoutMs}ms: ${method} ${url}`)),
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

// ---------------------------------------------------------------- temp dirs

const peerDirs = new Set<string>();
const keepPeerDirs = (): boolean => process.env['CRD_BRIDGE_KEEP_PEER_DIRS'] === '1';

/** A fresh private directory for one peer's config, data and log; removed at exit if not before. */
export function makePeerDir(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `crd-bridge-${name}-`));
  peerDirs.add(dir);
  installCleanupHooks();
  return dir;
}

/** Set CRD_BRIDGE_KEEP_PEER_DIRS=1 to keep data and logs of stopped peers for debugging. */
export function removePeerDir(dir: string): void {
  peerDirs.delete(dir);
  if (keepPeerDirs()) return;
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export function tailFile(file: string, lines = 40): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch (error) {
    return `(log ${file} unreadable: ${(error as Error).message})`;
  }
}

// ---------------------------------------------------------------- cleanup of last resort

const live = new Set<ManagedProcess>();
let hooksInstalled = false;

function cleanUpNow(): void {
  for (const proc of live) proc.killNow();
  live.clear();
  if (keepPeerDirs()) return;
  for (const dir of peerDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A peer killed a moment ago may still be writing; a stray temp dir is harmless.
    }
  }
  peerDirs.clear();
}

// Peers run in their own process group (so stop() reaches everything they
// spawn) and therefore do not get the terminal's Ctrl-C; without these hooks a
// crashed or interrupted test run would leave them listening, and their temp
// dirs (etcd and TSDB data) behind. Nothing helps against SIGKILL of this process.
function installCleanupHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpNow();
      // Re-raise with the default disposition unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// ---------------------------------------------------------------- processes

export type ReadinessCheck =
  | {
      url: string;
      request?: HttpRequestOptions;
      /** Default: any 2xx status. */
      isReady?: (response: HttpResponse) => boolean;
    }
  /** Resolves true when ready; a throw or false means "not yet". */
  | (() => Promise<boolean>);

export interface StartProcessOptions {
  /** Short name used in messages and the log file name. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Directory for the log file; the caller owns and removes it. */
  logDir: string;
  ready: ReadinessCheck;
  /** Default 60s. */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on stop; default 10s. */
  stopTimeoutMs?: number;
  pollIntervalMs?: number;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<ExitInfo>;
  readonly #stopTimeoutMs: number;
  #exitInfo: ExitInfo | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: StartProcessOptions) {
    this.name = options.name;
    this.command = options.command;
    this.args = options.args;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.logFile = path.join(options.logDir, `${options.name}.log`);
    // The child writes straight into the file, so the log survives even if
    // this process dies before reading it.
    const fd = openSync(this.logFile, 'a');
    try {
      this.#child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    this.pid = this.#child.pid ?? -1;
    this.#exited = new Promise<ExitInfo>((resolve) => {
      this.#child.once('exit', (code, signal) => resolve({ code, signal }));
      this.#child.once('error', (error) => resolve({ code: null, signal: null, error }));
    }).then((info) => {
      this.#exitInfo = info;
      live.delete(this);
      return info;
    });
    // A forgotten stop() must not keep the test process alive forever; the
    // exit hook still kills the peer.
    this.#child.unref();
    if (this.pid > 0) {
      installCleanupHooks();
      live.add(this);
    }
  }

  get running(): boolean {
    return this.#exitInfo === undefined && this.pid > 0;
  }

  describeExit(): string {
    const info = this.#exitInfo;
    if (!info) return 'still running';
    if (info.error) return `failed to spawn: ${info.error.message}`;
    return info.signal ? `killed by ${info.signal}` : `exited with code ${String(info.code)}`;
  }

  logTail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }

  /** Synchronous SIGKILL of the whole group; only for exit hooks. */
  killNow(): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** SIGTERM, then SIGKILL after the stop timeout; resolves once the process is gone. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (!this.running) return;
    this.#signal('SIGTERM');
    if ((await this.#exitedWithin(this.#stopTimeoutMs)) === 'timeout') {
      this.#signal('SIGKILL');
      await this.#exitedWithin(5000);
    }
    // Terminating the group leader does not terminate the rest of the group.
    this.#signal('SIGKILL');
    live.delete(this);
  }

  // The ref'd timer keeps the event loop alive while we wait (the child itself
  // is unref'd), and is cancelled afterwards so it does not delay the exit of
  // the test process by the whole timeout.
  async #exitedWithin(ms: number): Promise<'exited' | 'timeout'> {
    const cancel = new AbortController();
    const timeout = delay(ms, 'timeout' as const, { signal: cancel.signal });
    try {
      return await Promise.race([this.#exited.then(() => 'exited' as const), timeout]);
    } finally {
      cancel.abort();
      timeout.catch(() => {});
    }
  }

  /** Resolves when the process exits, for callers that expect it to. */
  waitForExit(): Promise<ExitInfo> {
    return this.#exited;
  }
}

async function probe(check: ReadinessCheck): Promise<{ ready: boolean; detail: string }> {
  try {
    if (typeof check === 'function') {
      const ready = await check();
      return { ready, detail: ready ? 'ready' : 'readiness check returned false' };
    }
    const response = await httpRequest(check.url, { timeoutMs: 2000, ...check.request });
    const ready = check.isReady ? check.isReady(response) : response.status >= 200 && response.status < 300;
    return {
      ready,
      detail: `${check.url} answered ${response.status} ${response.body.slice(0, 200).trim()}`,
    };
  } catch (error) {
    return { ready: false, detail: (error as Error).message };
  }
}

/**
 * Spawns a peer and resolves once its readiness check passes. On failure the
 * process is killed and the error carries the tail of its log, which is
 * almost always where the reason is.
 */
export async function startProcess(options: StartProcessOptions): Promise<ManagedProcess> {
  const proc = new ManagedProcess(options);
  // A spawn failure (ENOENT, EACCES) is only reported asynchronously.
  if (proc.pid <= 0) await proc.waitForExit();
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const interval = options.pollIntervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last = 'not probed yet';
  const fail = async (why: string): Promise<never> => {
    await proc.stop();
    throw new Error(
      `${options.name} failed to start: ${why}\n` +
        `command: ${options.command} ${options.args.join(' ')}\n` +
        `--- last lines of ${proc.logFile} ---\n${proc.logTail(40)}`,
    );
  };
  while (true) {
    if (!proc.running) return fail(`${proc.describeExit()} before becoming ready (last probe: ${last})`);
    const result = await probe(options.ready);
    if (result.ready) return proc;
    last = result.detail;
    if (Date.now() > deadline) return fail(`not ready after ${timeoutMs}ms (last probe: ${last})`);
    await delay(interval);
  }
}
