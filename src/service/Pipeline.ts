import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import { parseConfig, unreadableConfig } from '../config/loadConfig.ts';
import { compileConfig } from '../engine/compileConfig.ts';
import type { CompileOptions, CompiledConfig } from '../engine/compileConfig.ts';
import { formatObjectRef } from '../engine/objectIdentity.ts';
import { ObjectErrors } from '../engine/ObjectErrors.ts';
import type { SeriesCache } from '../engine/SeriesCache.ts';
import type { SelfMetrics } from '../otel/SelfMetrics.ts';
import type { Source } from '../sources/Source.ts';
import { ConfigGeneration } from './ConfigGeneration.ts';
import type { SourceFactory } from './createSources.ts';

/** A config file as read: the compiled config and the hash of the exact bytes it came from. */
export interface LoadedConfig {
  readonly file: string;
  readonly config: CompiledConfig;
  /** First 52 bits of the file's SHA-256, as a number (kube-state-metrics' config_hash idea). */
  readonly hash: number;
  /** What it was compiled with (the `--limits.*` flags); a reload compiles the file again with them. */
  readonly options: CompileOptions;
}

/** Reads, validates and compiles a config file; throws ConfigError listing every problem. */
export async function readConfigFile(file: string, options: CompileOptions = {}): Promise<LoadedConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw unreadableConfig(file, err);
  }
  const config = compileConfig(parseConfig(bytes.toString('utf8'), file), options);
  const hash = parseInt(createHash('sha256').update(bytes).digest('hex').slice(0, 13), 16);
  return { file, config, hash, options };
}

export type ReloadTrigger = 'signal' | 'file' | 'http' | 'shards';

export type ReloadOutcome =
  /** The new config serves; `notSynced` lists its collections still without data, and why. */
  | { readonly status: 'applied'; readonly notSynced: readonly string[] }
  /** A file event with the same bytes as the last attempt: nothing to do. */
  | { readonly status: 'unchanged' }
  /** A newer reload (or shutdown) arrived before this one was applied. */
  | { readonly status: 'superseded' }
  /** Invalid config: the running one stays. */
  | { readonly status: 'failed'; readonly problems: readonly string[] };

export interface PipelineOptions {
  readonly initial: LoadedConfig;
  readonly sources: SourceFactory;
  readonly selfMetrics: SelfMetrics;
  readonly logger: Logger;
  /**
   * Longest a reload waits for the new sources before swapping. It swaps earlier once every new
   * collection has synced or failed once (forbidden, missing), so a collection that cannot sync
   * never holds up the rest of a new config. @default 10000
   */
  readonly reloadSettleTimeoutMs?: number;
  /** Reload when the config file (or its directory: ConfigMap `..data` swaps) changes. @default true */
  readonly watchConfigFile?: boolean;
  /** Quiet time after the last file event before reloading. @default 500 */
  readonly watchDebounceMs?: number;
}

/**
 * The config → cache ← ingestor ← sources pipeline that serves, and its replacement on reload.
 * A reload builds a new generation beside the running one and swaps as soon as each new collection
 * has synced or failed once (or after a bound), never waiting on one that cannot sync; a reload
 * that arrives meanwhile supersedes it. The reload metrics and hash always describe the config
 * that is serving.
 */
export class Pipeline {
  private readonly _o: PipelineOptions;
  private _current: ConfigGeneration;
  private _pending: ConfigGeneration | undefined;
  /** Bumped by every reload that gets past reading and by stop: the newest one wins. */
  private _seq = 0;
  private _lastAttemptHash: number;
  private _watcher: FSWatcher | undefined;
  private _debounce: NodeJS.Timeout | undefined;
  private _stopped = false;
  private _fileReloads: Promise<unknown> = Promise.resolve();

  constructor(options: PipelineOptions) {
    this._o = options;
    this._current = this._generation(options.initial.config);
    this._lastAttemptHash = options.initial.hash;
    options.selfMetrics.configLoaded(options.initial.file, true, options.initial.hash);
  }

  get config(): CompiledConfig {
    return this._current.config;
  }

  get cache(): SeriesCache {
    return this._current.cache;
  }

  get sources(): readonly Source[] {
    return this._current.sources;
  }

  /** The serving config's collections that have no data yet, and why. */
  notSynced(): string[] {
    return this._current.notSynced();
  }

  get synced(): boolean {
    return this._current.synced;
  }

  /**
   * Starts the sources (without waiting for them) and the config file watch. The promise
   * settles when the first generation has synced, for the startup message only.
   */
  start(): Promise<void> {
    if (this._o.watchConfigFile ?? true) this._watchConfigFile();
    return this._current.start();
  }

  /** Stops watching, abandons a pending reload and stops the sources. */
  async stop(): Promise<void> {
    this._stopped = true;
    this._seq++;
    this._watcher?.close();
    clearTimeout(this._debounce);
    await Promise.all([this._pending?.stop(), this._current.stop()]);
  }

  /** Re-reads the config file and applies it (see the class comment). Never throws. */
  async reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { logger, selfMetrics } = this._o;
    const file = this._o.initial.file;
    if (this._stopped) return { status: 'superseded' };
    let loaded: LoadedConfig;
    try {
      loaded = await readConfigFile(file, this._o.initial.options);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const problems = err.problems.map(formatProblem);
      const hash = await fileHash(file);
      if (trigger === 'file' && hash === this._lastAttemptHash) return { status: 'unchanged' };
      this._lastAttemptHash = hash;
      logger.error({ config: file, trigger, problems }, 'config reload failed; keeping the running config');
      selfMetrics.configLoaded(file, false);
      return { status: 'failed', problems };
    }
    if (trigger === 'file' && loaded.hash === this._lastAttemptHash) return { status: 'unchanged' };
    this._lastAttemptHash = loaded.hash;
    if (this._stopped) return { status: 'superseded' };
    for (const w of loaded.config.warnings) logger.warn({ config: file }, formatProblem(w));

    const seq = ++this._seq;
    if (this._pending) {
      logger.info({ trigger }, 'a newer config reload supersedes the pending one');
      void this._pending.stop();
    }
    const next = this._generation(loaded.config);
    this._pending = next;
    void next.start();
    const deadline = Date.now() + (this._o.reloadSettleTimeoutMs ?? 10_000);
    while (seq === this._seq && !next.settled && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    if (seq !== this._seq) {
      await next.stop();
      return { status: 'superseded' };
    }
    this._pending = undefined;
    const previous = this._current;
    this._current = next;
    selfMetrics.configLoaded(file, true, loaded.hash);
    const notSynced = next.notSynced();
    logger[notSynced.length > 0 ? 'warn' : 'info'](
      {
        trigger,
        resources: loaded.config.resources.length,
        families: loaded.config.families.length,
        objects: next.cache.objectCount,
        ...(notSynced.length > 0 ? { notSynced } : {}),
      },
      notSynced.length > 0
        ? 'config reloaded; some collections have no data yet (see /readyz)'
        : 'config reloaded',
    );
    await previous.stop();
    return { status: 'applied', notSynced };
  }

  private _generation(config: CompiledConfig): ConfigGeneration {
    const { logger, selfMetrics } = this._o;
    const errors = new ObjectErrors({
      onFirst: (s) =>
        logger[s.errorLogV > 0 ? 'debug' : 'warn'](
          { resource: s.resource, metric: s.metric, kind: s.kind, object: formatObjectRef(s.exampleObject) },
          `object error (reported once per metric and kind; see crd_metrics_bridge_object_errors_total): ${s.exampleMessage}`,
        ),
      onEvery: (s) => selfMetrics.objectError(s),
    });
    return new ConfigGeneration(config, {
      errors,
      onEvent: (outcome, resourceId) => selfMetrics.objectEvent(outcome, resourceId),
      sources: this._o.sources,
      telemetry: selfMetrics.sourceTelemetry,
      logger,
      // Large objects are generated across event-loop turns, so scrapes and probes never wait long.
      slicing: {},
    });
  }

  /**
   * Watches the config file's directory, not the file: a ConfigMap update swaps the `..data`
   * symlink, which a watch on the old file would never see. Any event there re-reads the file;
   * the hash check makes events that change nothing free.
   */
  private _watchConfigFile(): void {
    const { logger } = this._o;
    const dir = dirname(this._o.initial.file);
    try {
      this._watcher = watch(dir, () => {
        if (this._stopped) return;
        clearTimeout(this._debounce);
        this._debounce = setTimeout(() => {
          // One file-triggered reload at a time; signals and POST /-/reload supersede as usual.
          this._fileReloads = this._fileReloads
            .then(() => this.reload('file'))
            .catch((err: unknown) => {
              logger.error({ err }, 'config reload on file change failed');
            });
        }, this._o.watchDebounceMs ?? 500);
      });
      this._watcher.on('error', (err) =>
        logger.warn({ err: err.message, dir }, 'config file watch failed; reload with SIGHUP instead'),
      );
    } catch (err) {
      logger.warn(
        { err: (err as Error).message, dir },
        'cannot watch the config file; reload with SIGHUP instead',
      );
    }
  }
}

async function fileHash(file: string): Promise<number> {
  try {
    return parseInt(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex')
        .slice(0, 13),
      16,
    );
  } catch {
    return -1;
  }
}
