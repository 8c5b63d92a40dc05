import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ResourceConfig } from '../config/types.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import { formatGvk } from '../model/gvk.ts';
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
  options: {
    readonly logger: Logger;
    readonly kubeconfig?: string | undefined;
    readonly context?: string | undefined;
  } & NamespaceFlags,
): SourceSetup {
  const { logger } = options;
  if (spec.kind === 'files') {
    if (options.namespaces?.length || options.namespacesDenylist?.length)
      throw new StartupError('--namespaces and --namespaces-denylist need --source kubernetes');
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
        resources: restrictNamespaces(
          config.resources.map((r) => r.config),
          options,
          logger,
        ),
        sink,
        logger,
        observer: telemetry,
      }),
    ],
    close: () => client.close(),
    client,
  };
}

/** kube-state-metrics' namespace flags, which apply to every resource. */
export interface NamespaceFlags {
  /** Watch only these namespaces (empty or absent: all). */
  readonly namespaces?: readonly string[] | undefined;
  /** Leave out these namespaces. */
  readonly namespacesDenylist?: readonly string[] | undefined;
}

/**
 * The resources as the namespace flags restrict them, as kube-state-metrics applies
 * `--namespaces` (one list and watch per namespace) and `--namespaces-denylist` (the field selector
 * `metadata.namespace!=NS` on every list and watch). A resource's own `namespaces` are narrowed to
 * those the flag allows; one left with none is not watched at all. Cluster-scoped resources are
 * not split by namespace (discovery knows their scope).
 */
export function restrictNamespaces(
  resources: readonly ResourceConfig[],
  flags: NamespaceFlags,
  logger: Logger,
): ResourceConfig[] {
  const allowed = flags.namespaces ?? [];
  const denied = flags.namespacesDenylist ?? [];
  if (allowed.length === 0 && denied.length === 0) return [...resources];
  const out: ResourceConfig[] = [];
  for (const resource of resources) {
    let namespaces = resource.namespaces;
    if (allowed.length > 0) {
      namespaces = namespaces.length === 0 ? allowed : namespaces.filter((n) => allowed.includes(n));
      if (namespaces.length === 0) {
        logger.warn(
          { resource: formatGvk(resource.groupVersionKind), namespaces: resource.namespaces, allowed },
          'none of the namespaces of this resource is in --namespaces; it is not watched',
        );
        continue;
      }
    }
    const fieldSelector = [resource.fieldSelector, ...denied.map((n) => `metadata.namespace!=${n}`)]
      .filter((s) => s !== undefined && s !== '')
      .join(',');
    out.push({ ...resource, namespaces, fieldSelector: fieldSelector === '' ? undefined : fieldSelector });
  }
  return out;
}
