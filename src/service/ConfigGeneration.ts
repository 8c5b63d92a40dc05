import type { Logger } from 'pino';
import type { CompiledConfig } from '../engine/compileConfig.ts';
import type { ObjectErrors } from '../engine/ObjectErrors.ts';
import { ObjectIngestor } from '../engine/ObjectIngestor.ts';
import type { IngestListener, IngestSlicing } from '../engine/ObjectIngestor.ts';
import { SeriesCache } from '../engine/SeriesCache.ts';
import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';
import { renderFamilies } from '../exposition/renderFamilies.ts';
import type { ObjectSink, Source, SourceTelemetry } from '../sources/Source.ts';
import type { SourceFactory } from './createSources.ts';

export interface ConfigGenerationOptions {
  readonly errors: ObjectErrors;
  readonly onEvent?: IngestListener;
  /** Builds the sources that feed this generation (none for `render`, which ingests by hand). */
  readonly sources?: SourceFactory;
  /** Counters the sources report to; wrapped here to remember each target's last failure. */
  readonly telemetry?: SourceTelemetry;
  readonly logger?: Logger;
  /**
   * Generate large objects from the sources across event-loop turns (`run`). Without it every
   * object is computed in one synchronous stretch (`render`, which has no loop to keep free).
   * @default undefined (no slicing)
   */
  readonly slicing?: IngestSlicing;
}

/**
 * Everything one config builds: the compiled config → a series cache ← the ingestor ← the
 * sources. `run` keeps one generation serving and builds the next on reload; `render` builds one
 * without sources and ingests files into it, so both print through the same cache and renderer.
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

  constructor(config: CompiledConfig, options: ConfigGenerationOptions) {
    this.config = config;
    this.errors = options.errors;
    this._logger = options.logger;
    this.cache = new SeriesCache(config.families);
    this.ingestor = new ObjectIngestor(config, this.cache, options.errors, options.onEvent, options.slicing);
    const ingestor = this.ingestor;
    // Sources go through `ingest`, which slices large objects and asks them to wait meanwhile.
    const sink: ObjectSink = {
      upsert: (key, object, origin) => ingestor.ingest(key, object, origin),
      delete: (key) => ingestor.delete(key),
    };
    const inner = options.telemetry;
    const telemetry: SourceTelemetry = {
      list: (target, result, objects) => {
        if (result === 'success') this._failures.delete(target);
        inner?.list(target, result, objects);
      },
      watch: (target, result) => inner?.watch(target, result),
      event: (target, type) => inner?.event(target, type),
      restart: (target, reason) => {
        this._failures.set(target, reason);
        inner?.restart(target, reason);
      },
      handlerError: (target) => inner?.handlerError(target),
    };
    this.sources = options.sources?.(config, sink, telemetry) ?? [];
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
      }),
    ).then(() => undefined);
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

  /** What is not synced yet, and why when known: `example.com/v1/widgets (forbidden)`. */
  notSynced(): string[] {
    const out: string[] = [];
    for (const source of this.sources) {
      if (source.synced) continue;
      const failed = this._startFailures.get(source);
      if (failed !== undefined) {
        out.push(`${source.name} (${failed})`);
        continue;
      }
      let listed = false;
      for (const t of source.targets?.() ?? []) {
        if (t.synced) continue;
        listed = true;
        const why = this._failures.get(t.id);
        out.push(`${t.id} (${why ?? t.state})`);
      }
      if (!listed) out.push(`${source.name} (starting)`);
    }
    return out;
  }

  /** The whole exposition at once (`render`); the server streams the same pieces instead. */
  render(format: ExpositionFormat): string {
    return renderFamilies(this.config.families, (f) => this.cache.blocks(f), format);
  }
}
