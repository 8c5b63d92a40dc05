import type { CompiledConfig } from './compileConfig.ts';
import { LimitExceeded } from './limits.ts';
import { objectGvk, objectRef, resourceFor } from './objectIdentity.ts';
import type { ObjectErrors, ObjectRef } from './ObjectErrors.ts';
import type { SeriesCache } from './SeriesCache.ts';

/** What happened to one object event, for self-metrics. */
export type IngestOutcome = 'upserted' | 'unmatched' | 'deleted' | 'unknown-delete' | 'failed' | 'limited';

export type IngestListener = (outcome: IngestOutcome, resourceId: string | undefined) => void;

/**
 * The one place where object events become cache changes: it finds the resource an object belongs
 * to, computes its series once and stores them. A source (files, API server) only reports
 * add/update/delete. A failure on one object is counted and never stops the others.
 *
 * Limits (see limits.ts) are enforced here and while the series are generated: an object over a
 * limit is dropped whole (its previous series too, so nothing stale or partial is served),
 * counted in ObjectErrors with a `limit-*` kind, and the outcome is `limited`.
 */
export class ObjectIngestor {
  private readonly _config: CompiledConfig;
  private readonly _cache: SeriesCache;
  private readonly _errors: ObjectErrors;
  private readonly _listener: IngestListener;

  constructor(
    config: CompiledConfig,
    cache: SeriesCache,
    errors: ObjectErrors,
    listener: IngestListener = () => undefined,
  ) {
    this._config = config;
    this._cache = cache;
    this._errors = errors;
    this._listener = listener;
  }

  /** Adds or replaces the object stored under `key` (unique per source). */
  upsert(key: string, object: unknown, origin?: string): IngestOutcome {
    const gvk = objectGvk(object);
    const resource = gvk ? resourceFor(this._config.resources, gvk) : undefined;
    if (!gvk || !resource) {
      // An object that no longer matches (e.g. its kind changed in a file) must not keep old series.
      this._cache.delete(key);
      this._listener('unmatched', undefined);
      return 'unmatched';
    }
    const cache = this._cache;
    const { limits } = resource;
    if (
      limits.resourceObjects > 0 &&
      !cache.has(key) &&
      cache.objectsOf(resource.id) >= limits.resourceObjects
    ) {
      return this._limited(
        key,
        resource.id,
        new LimitExceeded(
          'resourceObjects',
          '*',
          `resource already has ${limits.resourceObjects} objects (limits.resourceObjects); object not added`,
        ),
        objectRef(object, origin),
      );
    }
    try {
      const series = resource.computeSeries(
        object,
        gvk.version,
        gvk.kind,
        this._errors,
        objectRef(object, origin),
        limits.familySeries > 0
          ? (family) => cache.familyHeadroom(family, key, limits.familySeries)
          : undefined,
      );
      cache.upsert(key, resource, series);
      this._listener('upserted', resource.id);
      return 'upserted';
    } catch (err) {
      if (err instanceof LimitExceeded)
        return this._limited(key, resource.id, err, objectRef(object, origin));
      // Generators report expected problems through ObjectErrors; anything thrown is a bug, but
      // one object must not take the bridge down.
      this._errors.record(resource.id, '*', 'internal', (err as Error).message, objectRef(object, origin));
      this._listener('failed', resource.id);
      return 'failed';
    }
  }

  private _limited(key: string, resourceId: string, cut: LimitExceeded, ref: ObjectRef): IngestOutcome {
    this._cache.delete(key);
    this._errors.record(resourceId, cut.family, cut.kind, cut.message, ref);
    this._listener('limited', resourceId);
    return 'limited';
  }

  delete(key: string): IngestOutcome {
    const outcome = this._cache.delete(key) ? 'deleted' : 'unknown-delete';
    this._listener(outcome, undefined);
    return outcome;
  }
}
