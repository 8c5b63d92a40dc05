import type { Logger } from 'pino';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import type { ObjectErrors } from '../engine/ObjectErrors.ts';
import { ObjectIngestor } from '../engine/store/ObjectIngestor.ts';
import type { IngestListener, IngestSlicing } from '../engine/store/ObjectIngestor.ts';
import type { HealthEvents } from '../engine/store/HealthTracker.ts';
import { SeriesCache } from '../engine/store/SeriesCache.ts';
import type { ObjectSink, Source, SourceTelemetry } from '../sources/Source.ts';
import type { SourceFactory } from './createSources.ts';

export interface ConfigGenerationOptions {
  readonly errors: ObjectErrors;
  readonly onEvent?: IngestListener;
  /** Builds the sources that feed this generation. */
  readonly sources: SourceFactory;
  /** Counters the sources report to; wrapped here to remember each target's last failure. */
  readonly telemetry?: SourceTelemetry;
  readonly logger?: Logger;
  /**
   * Generate large objects from the sources across event-loop turns (`run`). Without it every
   * object is computed in one synchronous stretch (`render`, which has no loop to keep free).
   * @default undefined (no slicing)
   */
  readonly slicing?: IngestSlicing;
  /** The objects this generation serves (sharding). @default every object */
  readonly accept?: ((object: unknown) => boolean) | undefined;
  /** Told when an object's share of an aggregate group folds into the overflow series. @default none */
  readonly onAggregateOverflow?: (family: string) => void;
  /** Told of health transitions and first times to healthy, seen in watch events. @default none */
  readonly healthEvents?: HealthEvents | undefined;
}

/**
 * Everything one config builds: the compiled config → a series cache ← the ingestor ← the
 * sources. `run` keeps one generation serving and builds the next on reload; `render` builds one
 * over a files source that reads its inputs once, so both serve through the same source, ingest
 * path, cache and renderer.
 */
export class ConfigGeneration {
  readonly config: CompiledConfig;
  readonly cache: SeriesCache;
  readonly ingestor: ObjectIngestor;
  readonly errors: ObjectErrors;
  readonly sources: readonly Source[];
  /** Why a target's last list/watch failed, until its next successful list. */
  private readonly _failures = new Map<string, string>();
  /** Sources whose start() rejected, with the reason. */
  private readonly _startFailures = new Map<Source, string>();
  private readonly _logger: Logger | undefined;
  private _started = false;
  /** Waiting for `settled`: resolved when a list, a restart or a source's start changes it. */
  private _settledWaiters: (() => void)[] = [];

  constructor(config: CompiledConfig, options: ConfigGenerationOptions) {
    this.config = config;
    this.errors = options.errors;
    this._logger = options.logger;
    const onOverflow = options.onAggregateOverflow;
    this.cache = new SeriesCache(config.families, {
      ...(onOverflow ? { onAggregateFold: (family) => onOverflow(family.name) } : {}),
      ...(options.healthEvents ? { healthEvents: options.healthEvents } : {}),
    });
    this.ingestor = new ObjectIngestor(config, this.cache, options.errors, {
      ...(options.onEvent ? { listener: options.onEvent } : {}),
      ...(options.slicing ? { slicing: options.slicing } : {}),
      ...(options.accept ? { accept: options.accept } : {}),
      // Objects a budget refused come back from their sources once there is room.
      onReadmissible: (keys) => {
        for (const source of this.sources) source.redeliver?.(keys);
      },
    });
    const inner = options.telemetry;
    const telemetry: SourceTelemetry = {
      list: (target, result, objects) => {
        if (result === 'success') this._failures.delete(target);
        inner?.list(target, result, objects);
        this._checkSettled();
      },
      watch: (target, result) => inner?.watch(target, result),
      event: (target, type) => inner?.event(target, type),
      restart: (target, reason) => {
        this._failures.set(target, reason);
        inner?.restart(target, reason);
        this._checkSettled();
      },
      handlerError: (target) => inner?.handlerError(target),
    };
    const sink: ObjectSink = this.ingestor;
    this.sources = options.sources(config, sink, telemetry);
  }

  /**
   * Starts every source without waiting for it: the returned promise settles when all have
   * delivered their initial state (or failed), for logging only. Readiness and reload read
   * `synced`/`settled` instead, so nothing ever waits on a source that cannot sync.
   */
  start(): Promise<void> {
    if (this._started) throw new Error('ConfigGeneration started twice');
    this._started = true;
    return Promise.all(
      this.sources.map(async (source) => {
        const began = Date.now();
        try {
          await source.start();
          this._logger?.info(
            { source: source.name, objects: this.cache.objectCount, ms: Date.now() - began },
            'source synced',
          );
        } catch (err) {
          this._startFailures.set(source, (err as Error).message);
          this._logger?.error({ source: source.name, err: (err as Error).message }, 'source failed to start');
        }
        this._checkSettled();
      }),
    ).then(() => undefined);
  }

  /** Resolves once `settled` holds (at once if it does). */
  whenSettled(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => this._settledWaiters.push(resolve));
  }

  private _checkSettled(): void {
    if (this._settledWaiters.length === 0) return;
    // A source reports a list before it counts itself synced: look once it has.
    queueMicrotask(() => {
      if (!this.settled) return;
      const waiters = this._settledWaiters;
      this._settledWaiters = [];
      for (const resolve of waiters) resolve();
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.sources.map((s) => s.stop()));
    this.ingestor.cancelAll();
  }

  /** Every source has delivered its initial state. */
  get synced(): boolean {
    return this.sources.every((s) => s.synced);
  }

  /**
   * Every target has either synced or failed at least once: waiting longer would not make the
   * picture truer, only later (a forbidden or missing collection may never sync).
   */
  get settled(): boolean {
    return this.sources.every((source) => {
      if (source.synced || this._startFailures.has(source)) return true;
      if (!source.targets) return false;
      let any = false;
      for (const t of source.targets()) {
        any = true;
        if (!t.synced && !this._failures.has(t.id)) return false;
      }
      return any;
    });
  }

  /**
   * What is not ready, and why when known: not synced yet (`example.com/v1/widgets (forbidden)`),
   * or synced but with its watch presumed dead (`example.com/v1/widgets (watch silent for 31 s,
   * …; presumed dead, reconnecting)`), whose objects may be stale.
   */
  notSynced(): string[] {
    const out: string[] = [];
    for (const source of this.sources) {
      if (source.synced) {
        for (const t of source.targets?.() ?? []) if (t.presumedDead) out.push(`${t.id} (${t.presumedDead})`);
        continue;
      }
      const failed = this._startFailures.get(source);
      if (failed !== undefined) {
        out.push(`${source.name} (${failed})`);
        continue;
      }
      let listed = false;
      for (const t of source.targets?.() ?? []) {
        if (t.synced) {
          if (t.presumedDead) out.push(`${t.id} (${t.presumedDead})`);
          continue;
        }
        listed = true;
        const why = this._failures.get(t.id);
        out.push(`${t.id} (${why ?? t.state})`);
      }
      if (!listed) out.push(`${source.name} (starting)`);
    }
    return out;
  }
}
