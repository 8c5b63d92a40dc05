import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { formatProblem } from '../config/ConfigError.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import { formatObjectRef } from '../model/objectRef.ts';
import { ObjectErrors } from '../engine/ObjectErrors.ts';
import type { SeriesCache } from '../engine/store/SeriesCache.ts';
import type { SelfMetrics } from '../otel/SelfMetrics.ts';
import type { Source } from '../sources/Source.ts';
import { ConfigGeneration } from './ConfigGeneration.ts';
import type { SourceFactory } from './createSources.ts';
import { InvalidConfigFile, readConfigFile } from './readConfigFile.ts';
import type { LoadedConfig } from './readConfigFile.ts';

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
  /** The objects each new generation serves (sharding; asked again per generation). @default every object */
  readonly accept?: () => ((object: unknown) => boolean) | undefined;
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
  /** Ends the wait of the reload in progress (a newer reload or stop supersedes it). */
  private _superseded: (() => void) | undefined;

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

  /** Objects the serving generation keeps, and those it leaves to other shards. */
  shardObjects(): { kept: number; skipped: number } {
    const ingestor = this._current.ingestor;
    return { kept: ingestor.keptCount, skipped: ingestor.refusedCount };
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
    // Inline config has no file to watch (a reload compiles the same text again).
    if ((this._o.watchConfigFile ?? true) && this._o.initial.text === undefined) this._watchConfigFile();
    return this._current.start();
  }

  /** Stops watching, abandons a pending reload and stops the sources. */
  async stop(): Promise<void> {
    this._stopped = true;
    this._seq++;
    this._superseded?.();
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
      loaded = await readConfigFile(file, this._o.initial.options, this._o.initial.text);
    } catch (err) {
      if (!(err instanceof InvalidConfigFile)) throw err;
      const problems = err.problems.map(formatProblem);
      const hash = err.hash;
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
    this._superseded?.();
    if (this._pending) {
      logger.info({ trigger }, 'a newer config reload supersedes the pending one');
      void this._pending.stop();
    }
    const next = this._generation(loaded.config);
    this._pending = next;
    void next.start();
    await this._settledOrSuperseded(next, seq);
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

  /**
   * Waits until the new generation has settled, a newer reload or stop supersedes it, or
   * `reloadSettleTimeoutMs` has passed.
   */
  private async _settledOrSuperseded(next: ConfigGeneration, seq: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let end!: () => void;
    const bounded = new Promise<void>((resolve) => {
      end = resolve;
      timer = setTimeout(resolve, this._o.reloadSettleTimeoutMs ?? 10_000);
    });
    this._superseded = end;
    try {
      if (seq === this._seq) await Promise.race([next.whenSettled(), bounded]);
    } finally {
      clearTimeout(timer);
      // A newer reload may have put its own here already.
      if (this._superseded === end) this._superseded = undefined;
    }
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
      accept: this._o.accept?.(),
      onAggregateOverflow: (family) => selfMetrics.aggregateOverflow(family),
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
