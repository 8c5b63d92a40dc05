import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { formatProblem } from '../config/ConfigError.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import { formatObjectRef } from '../model/objectRef.ts';
import { ObjectErrors } from '../engine/ObjectErrors.ts';
import type { SeriesCache } from '../engine/store/SeriesCache.ts';
import type { BudgetLedger } from '../engine/store/BudgetLedger.ts';
import type { SelfMetrics } from '../otel/SelfMetrics.ts';
import type { Source } from '../sources/Source.ts';
import { ConfigGeneration } from './ConfigGeneration.ts';
import type { SourceFactory } from './createSources.ts';
import type { HealthEvents } from '../engine/store/HealthTracker.ts';
import { InvalidConfigFile, readConfigFile } from './readConfigFile.ts';
import type { LoadedConfig } from './readConfigFile.ts';

export type ReloadTrigger = 'signal' | 'file' | 'http' | 'shards';

export type ReloadOutcome =
  /** The new config serves; `notSynced` lists its collections still without data, and why. */
  | { readonly status: 'applied'; readonly notSynced: readonly string[] }
  /** A file event with the same bytes as the last attempt: nothing to do. */
  | { readonly status: 'unchanged' }
  /** The bridge shut down before this reload was applied. */
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
  /** Counts the health transitions each generation's store sees (they outlive a reload). @default none */
  readonly healthEvents?: HealthEvents;
}

/** Triggers that arrived while a reload ran: they share the next reload and its outcome. */
interface QueuedReload {
  readonly triggers: Set<ReloadTrigger>;
  readonly outcome: Promise<ReloadOutcome>;
  readonly resolve: (outcome: ReloadOutcome) => void;
}

function queuedReload(trigger: ReloadTrigger): QueuedReload {
  let resolve!: (outcome: ReloadOutcome) => void;
  const outcome = new Promise<ReloadOutcome>((r) => (resolve = r));
  return { triggers: new Set([trigger]), outcome, resolve };
}

/**
 * The config → cache ← ingestor ← sources pipeline that serves, and its replacement on reload.
 * A reload builds a new generation beside the running one and swaps as soon as each new collection
 * has synced or failed once (or after a bound), never waiting on one that cannot sync.
 *
 * Reloads are single-flight: one runs at a time, and every trigger that arrives meanwhile (HTTP,
 * SIGHUP, the file watch, a shard change) joins one queued reload, which reads the file after all
 * of them and so covers them all; each caller gets the outcome of that reload. A storm of triggers
 * therefore costs at most two reloads, and at most one new generation exists beside the serving
 * one. The reload metrics and hash always describe the config that is serving.
 */
export class Pipeline {
  private readonly _o: PipelineOptions;
  private _current: ConfigGeneration;
  private _pending: ConfigGeneration | undefined;
  private _lastAttemptHash: number;
  private _watcher: FSWatcher | undefined;
  private _debounce: NodeJS.Timeout | undefined;
  private _stopped = false;
  /** The reload in progress, if any. */
  private _running: Promise<void> | undefined;
  /** The one reload waiting for the running one to end; later triggers join it. */
  private _queued: QueuedReload | undefined;
  /** Ends the settle wait of the reload in progress (stop). */
  private _interruptSettle: (() => void) | undefined;

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

  /** The serving generation's budgets across objects (undefined when all are unlimited). */
  get budgets(): BudgetLedger | undefined {
    return this._current.ingestor.budgets;
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
    this._interruptSettle?.();
    const queued = this._queued;
    this._queued = undefined;
    queued?.resolve({ status: 'superseded' });
    this._watcher?.close();
    clearTimeout(this._debounce);
    await Promise.all([this._pending?.stop(), this._current.stop()]);
    await this._running;
  }

  /**
   * Re-reads the config file and applies it (see the class comment); resolves with the outcome
   * of the reload that covers this trigger. Never rejects.
   */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (this._stopped) return Promise.resolve({ status: 'superseded' });
    if (this._queued) {
      this._queued.triggers.add(trigger);
      return this._queued.outcome;
    }
    const request = queuedReload(trigger);
    this._queued = request;
    this._running ??= this._drain();
    return request.outcome;
  }

  /** Runs queued reloads one after the other until none is left. */
  private async _drain(): Promise<void> {
    for (;;) {
      const request = this._queued;
      this._queued = undefined;
      if (!request) break;
      let outcome: ReloadOutcome;
      try {
        outcome = await this._reloadOnce(request.triggers);
      } catch (err) {
        this._o.logger.error({ err }, 'config reload failed unexpectedly; keeping the running config');
        outcome = { status: 'failed', problems: [(err as Error).message] };
      }
      request.resolve(outcome);
    }
    this._running = undefined;
  }

  /** One reload, for the triggers it covers. */
  private async _reloadOnce(triggers: ReadonlySet<ReloadTrigger>): Promise<ReloadOutcome> {
    const { logger, selfMetrics } = this._o;
    const file = this._o.initial.file;
    if (this._stopped) return { status: 'superseded' };
    // Only file events may find nothing to do: a signal, a request or a shard change always applies.
    const onlyFileEvents = [...triggers].every((t) => t === 'file');
    const trigger = [...triggers].join(',');
    let loaded: LoadedConfig;
    try {
      loaded = await readConfigFile(file, this._o.initial.options, this._o.initial.text);
    } catch (err) {
      if (!(err instanceof InvalidConfigFile)) throw err;
      const problems = err.problems.map(formatProblem);
      const hash = err.hash;
      if (onlyFileEvents && hash === this._lastAttemptHash) return { status: 'unchanged' };
      this._lastAttemptHash = hash;
      logger.error({ config: file, trigger, problems }, 'config reload failed; keeping the running config');
      selfMetrics.configLoaded(file, false);
      return { status: 'failed', problems };
    }
    if (onlyFileEvents && loaded.hash === this._lastAttemptHash) return { status: 'unchanged' };
    this._lastAttemptHash = loaded.hash;
    if (this._stopped) return { status: 'superseded' };
    for (const w of loaded.config.warnings) logger.warn({ config: file }, formatProblem(w));

    const next = this._generation(loaded.config);
    this._pending = next;
    void next.start();
    await this._settled(next);
    this._pending = undefined;
    if (this._stopped) {
      await next.stop();
      return { status: 'superseded' };
    }
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

  /** Waits until the new generation has settled, stop interrupts, or `reloadSettleTimeoutMs` has passed. */
  private async _settled(next: ConfigGeneration): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      this._interruptSettle = resolve;
      timer = setTimeout(resolve, this._o.reloadSettleTimeoutMs ?? 10_000);
    });
    try {
      if (!this._stopped) await Promise.race([next.whenSettled(), bounded]);
    } finally {
      clearTimeout(timer);
      this._interruptSettle = undefined;
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
      healthEvents: this._o.healthEvents,
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
          void this.reload('file');
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
