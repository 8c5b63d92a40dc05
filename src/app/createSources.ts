import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import { KubeClient, KubeCredentialsError } from '../kube/KubeClient.ts';
import { apiListerWatchers, KubeSource } from '../kube/KubeSource.ts';
import { FileSource } from '../sources/FileSource.ts';
import type { ObjectSink, Source, SourceTelemetry } from '../sources/Source.ts';
import { StartupError } from './StartupError.ts';

/** Builds the sources for a config, given where they deliver objects (called again on reload). */
export type SourceFactory = (
  config: CompiledConfig,
  sink: ObjectSink,
  telemetry: SourceTelemetry,
) => readonly Source[];

export type SourceSpec =
  { readonly kind: 'files'; readonly directory: string } | { readonly kind: 'kubernetes' };

/** Parses `--source`: `files:DIR` (the embedded default) or `kubernetes`. */
export function parseSource(text: string): SourceSpec {
  if (text.startsWith('files:') && text.length > 'files:'.length)
    return { kind: 'files', directory: text.slice('files:'.length) };
  if (text === 'kubernetes') return { kind: 'kubernetes' };
  throw new StartupError(`invalid --source "${text}" (use files:DIR or kubernetes)`);
}

export interface SourceSetup {
  readonly factory: SourceFactory;
  /** The Kubernetes client, shared with the auth filter and auto-sharding. */
  readonly client?: KubeClient;
  /** Releases what the sources share across reloads (the API server connection pool). */
  close(): Promise<void>;
}

/**
 * Checks what the sources need before anything is served (the directory exists; Kubernetes
 * credentials are there) and returns the factory each config generation calls. Throws
 * StartupError with one line when something is missing.
 */
export function createSources(
  spec: SourceSpec,
  options: { readonly logger: Logger; readonly kubeconfig?: string; readonly context?: string },
): SourceSetup {
  const { logger } = options;
  if (spec.kind === 'files') {
    const directory = resolve(spec.directory);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(directory).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StartupError(
        `--source files:${spec.directory}: ${code === 'ENOENT' ? 'no such directory' : (err as Error).message}`,
      );
    }
    if (!isDirectory) throw new StartupError(`--source files:${spec.directory}: not a directory`);
    return {
      factory: (_config, sink) => [new FileSource({ inputs: [directory], sink, logger })],
      close: () => Promise.resolve(),
    };
  }
  let client: KubeClient;
  try {
    client = new KubeClient({ kubeconfig: options.kubeconfig, context: options.context });
  } catch (err) {
    if (err instanceof KubeCredentialsError) throw new StartupError(err.message);
    throw err;
  }
  return {
    factory: (config, sink, telemetry) => [
      new KubeSource({
        server: client.server,
        listerWatcher: apiListerWatchers(client),
        resources: config.resources.map((r) => r.config),
        sink,
        logger,
        observer: telemetry,
      }),
    ],
    close: () => client.close(),
    client,
  };
}
