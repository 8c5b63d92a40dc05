import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../harness/binaries.ts';

export interface SpawnedCli {
  readonly child: ChildProcess;
  readonly startedAt: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (signal name when killed) and the time of exit. */
  readonly exited: Promise<{ code: number | string; at: number }>;
  /** Sends a signal and resolves with the exit and how long it took from the signal. */
  signal(name: NodeJS.Signals): Promise<{ code: number | string; ms: number }>;
}

/** Runs the real CLI (bin/crd-metrics-bridge.js) as a child process with captured output. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnedCli {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'crd-metrics-bridge.js'), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | string; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code: code ?? signal ?? -1, at: Date.now() })),
  );
  return {
    child,
    startedAt: Date.now(),
    stdout: () => out,
    stderr: () => err,
    exited,
    async signal(name) {
      const sent = Date.now();
      child.kill(name);
      const { code, at } = await exited;
      return { code, ms: at - sent };
    },
  };
}

/** An environment with no Kubernetes credentials: no KUBECONFIG, an empty HOME, not in a cluster. */
export function envWithoutKubeCredentials(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, OTEL_METRICS_EXPORTER: 'prometheus' };
  delete env.KUBECONFIG;
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  return env;
}
