import type { CompiledConfig } from './compileConfig.ts';
import type { CompiledResource, ObjectSeries, SliceOver } from './CompiledResource.ts';
import { LimitExceeded, SliceNeeded } from './limits.ts';
import type { FamilyHeadroom, SliceThreshold } from './limits.ts';
import { objectGvk, objectRef, resourceFor } from './objectIdentity.ts';
import type { ObjectErrors, ObjectRef } from './ObjectErrors.ts';
import type { SeriesCache } from './SeriesCache.ts';

/**
 * What happened to one object event, for self-metrics. `superseded`: a delete or a newer update of
 * the same object arrived while this one was still being generated in slices, and won.
 */
export type IngestOutcome =
  'upserted' | 'unmatched' | 'deleted' | 'unknown-delete' | 'failed' | 'limited' | 'superseded';

export type IngestListener = (outcome: IngestOutcome, resourceId: string | undefined) => void;

/**
 * How `ingest` spreads a large object's work over event-loop turns (the `run` path), so that one
 * object never holds the loop (scrapes, probes, other objects) for long.
 */
export interface IngestSlicing {
  /** Objects above either count are generated in slices; smaller ones in one go. @default { series: 200, labelBytes: 65536 } */
  readonly sliceAbove?: SliceThreshold;
  /** CPU time one slice may take before it yields to the event loop. @default 4 */
  readonly sliceMs?: number;
  /**
   * Starts a slice and returns its "is it over?" check (called between units of work). Tests
   * inject a count here to make slicing deterministic. @default a `sliceMs` deadline on performance.now()
   */
  readonly startSlice?: () => SliceOver;
  /** Runs the next slice in a later turn. @default setImmediate */
  readonly schedule?: (next: () => void) => void;
}

const DEFAULT_SLICE_ABOVE: SliceThreshold = { series: 200, labelBytes: 64 * 1024 };

/** One object being generated in slices. */
interface SlicedJob {
  cancelled: boolean;
  /** Settles the promise `ingest` returned. */
  readonly finish: (outcome: IngestOutcome) => void;
}

/**
 * The one place where object events become cache changes: it finds the resource an object belongs
 * to, computes its series once and stores them. A source (files, API server) only reports
 * add/update/delete. A failure on one object is counted and never stops the others.
 *
 * Limits (see limits.ts) are enforced here and while the series are generated: an object over a
 * limit is dropped whole (its previous series too, so nothing stale or partial is served),
 * counted in ObjectErrors with a `limit-*` kind, and the outcome is `limited`.
 *
 * Two entry points. `upsert` computes an object in one synchronous stretch (`render`, tests).
 * `ingest` (the sources of `run`, with `slicing` set) does the same for ordinary objects, but an
 * object that turns out large is generated across event-loop turns in slices of a few ms; its new
 * series replace the old ones atomically when the generation completes (a scrape meanwhile sees
 * the old series whole), and a delete or newer update of the same key supersedes it.
 */
export class ObjectIngestor {
  private readonly _config: CompiledConfig;
  private readonly _cache: SeriesCache;
  private readonly _errors: ObjectErrors;
  private readonly _listener: IngestListener;
  private readonly _slicing: Required<IngestSlicing> | undefined;
  private readonly _jobs = new Map<string, SlicedJob>();

  constructor(
    config: CompiledConfig,
    cache: SeriesCache,
    errors: ObjectErrors,
    listener: IngestListener = () => undefined,
    slicing?: IngestSlicing,
  ) {
    this._config = config;
    this._cache = cache;
    this._errors = errors;
    this._listener = listener;
    if (slicing) {
      const sliceMs = slicing.sliceMs ?? 4;
      this._slicing = {
        sliceAbove: slicing.sliceAbove ?? DEFAULT_SLICE_ABOVE,
        sliceMs,
        startSlice:
          slicing.startSlice ??
          (() => {
            const end = performance.now() + sliceMs;
            return () => performance.now() >= end;
          }),
        schedule: slicing.schedule ?? ((next) => void setImmediate(next)),
      };
    }
  }

  /** Objects being generated in slices right now. */
  get pending(): number {
    return this._jobs.size;
  }

  /** Adds or replaces the object stored under `key` (unique per source), in one synchronous stretch. */
  upsert(key: string, object: unknown, origin?: string): IngestOutcome {
    return this._upsert(key, object, origin, false) as IngestOutcome;
  }

  /**
   * Adds or replaces the object stored under `key`, like `upsert`; with `slicing`, a large object
   * is generated in slices and a promise of its outcome is returned. A source should wait for it
   * before delivering its next event (backpressure: a stream of large objects is read only as fast
   * as it is generated). The promise never rejects.
   */
  ingest(key: string, object: unknown, origin?: string): IngestOutcome | Promise<IngestOutcome> {
    return this._upsert(key, object, origin, this._slicing !== undefined);
  }

  delete(key: string): IngestOutcome {
    this._supersede(key);
    const outcome = this._cache.delete(key) ? 'deleted' : 'unknown-delete';
    this._listener(outcome, undefined);
    return outcome;
  }

  /** Abandons every generation in progress (the generation this ingestor feeds is being stopped). */
  cancelAll(): void {
    for (const key of [...this._jobs.keys()]) this._supersede(key);
  }

  private _upsert(
    key: string,
    object: unknown,
    origin: string | undefined,
    sliced: boolean,
  ): IngestOutcome | Promise<IngestOutcome> {
    // Events for one key apply in order: whatever arrives now wins over a generation in progress.
    this._supersede(key);
    const gvk = objectGvk(object);
    const resource = gvk ? resourceFor(this._config.resources, gvk) : undefined;
    if (!gvk || !resource) {
      // An object that no longer matches (e.g. its kind changed in a file) must not keep old series.
      this._cache.delete(key);
      this._listener('unmatched', undefined);
      return 'unmatched';
    }
    const ref = objectRef(object, origin);
    const known = this._cache.has(key);
    const overObjects = this._overResourceObjects(known, resource);
    if (overObjects) return this._limited(key, resource.id, overObjects, ref);
    const headroom = this._headroom(key, known, resource);
    try {
      const series = resource.computeSeries(
        object,
        gvk.version,
        gvk.kind,
        this._errors,
        ref,
        headroom,
        sliced ? this._slicing!.sliceAbove : undefined,
      );
      this._cache.upsert(key, resource, series);
      this._listener('upserted', resource.id);
      return 'upserted';
    } catch (err) {
      if (err instanceof SliceNeeded) {
        // The work done so far (up to the threshold, a few ms at most) is dropped and redone in
        // slices: cheaper than making the fast path resumable, which every small object would pay.
        return this._startSliced(key, object, resource, {
          version: gvk.version,
          kind: gvk.kind,
          ref,
          headroom,
        });
      }
      return this._failed(key, resource.id, err, ref);
    }
  }

  /**
   * Generates the object a slice per event-loop turn, then commits its series in one step. Until
   * then the cache keeps serving the object's previous series; a newer event for the key cancels
   * this job (see `_supersede`), and the generator is simply dropped.
   */
  private _startSliced(
    key: string,
    object: unknown,
    resource: CompiledResource,
    request: { version: string; kind: string; ref: ObjectRef; headroom: FamilyHeadroom | undefined },
  ): Promise<IngestOutcome> {
    const slicing = this._slicing!;
    let sliceOver: SliceOver = () => false;
    const steps = resource.computeSeriesSliced(object, { ...request, errors: this._errors }, () =>
      sliceOver(),
    );
    let finish!: (outcome: IngestOutcome) => void;
    const done = new Promise<IngestOutcome>((resolve) => (finish = resolve));
    const job: SlicedJob = { cancelled: false, finish };
    this._jobs.set(key, job);
    const end = (outcome: IngestOutcome) => {
      this._jobs.delete(key);
      job.finish(outcome);
    };
    const slice = () => {
      if (job.cancelled) return;
      sliceOver = slicing.startSlice();
      let step: IteratorResult<void, ObjectSeries>;
      try {
        step = steps.next();
      } catch (err) {
        end(this._failed(key, resource.id, err, request.ref));
        return;
      }
      if (!step.done) slicing.schedule(slice);
      else end(this._commit(key, resource, step.value, request.ref));
    };
    slicing.schedule(slice);
    return done;
  }

  /**
   * Stores a sliced generation's series. Other objects were added while it ran, so the limits that
   * span objects are checked again against the cache as it is now.
   */
  private _commit(
    key: string,
    resource: CompiledResource,
    series: ObjectSeries,
    ref: ObjectRef,
  ): IngestOutcome {
    const over =
      this._overResourceObjects(this._cache.has(key), resource) ?? this._overFamilies(key, resource, series);
    if (over) return this._limited(key, resource.id, over, ref);
    this._cache.upsert(key, resource, series);
    this._listener('upserted', resource.id);
    return 'upserted';
  }

  private _overFamilies(
    key: string,
    resource: CompiledResource,
    series: ObjectSeries,
  ): LimitExceeded | undefined {
    const limit = resource.limits.familySeries;
    if (limit <= 0) return undefined;
    for (let i = 0; i < series.length; i++) {
      const block = series[i];
      const meta = resource.families[i]!.meta;
      if (block && this._cache.familyHeadroom(meta, key, limit) < block.points.length)
        return new LimitExceeded(
          'familySeries',
          meta.name,
          `family ${meta.name} would exceed ${limit} series (limits.familySeries); object dropped whole`,
        );
    }
    return undefined;
  }

  /**
   * The resource-objects limit, checked when a new key would be added (`known`: the cache already
   * holds the object, so replacing it adds none).
   */
  private _overResourceObjects(known: boolean, resource: CompiledResource): LimitExceeded | undefined {
    const { limits } = resource;
    if (limits.resourceObjects > 0 && !known && this._cache.objectsOf(resource.id) >= limits.resourceObjects)
      return new LimitExceeded(
        'resourceObjects',
        '*',
        `resource already has ${limits.resourceObjects} objects (limits.resourceObjects); object not added`,
      );
    return undefined;
  }

  private _headroom(key: string, known: boolean, resource: CompiledResource): FamilyHeadroom | undefined {
    const limit = resource.limits.familySeries;
    if (limit <= 0) return undefined;
    const cache = this._cache;
    // A new object has no series of its own to replace: its headroom is the family's free room,
    // with no lookup in the family's (large) map.
    if (!known) return (family) => limit - cache.seriesCount(family);
    return (family) => cache.familyHeadroom(family, key, limit);
  }

  private _supersede(key: string): void {
    const job = this._jobs.get(key);
    if (!job) return;
    job.cancelled = true;
    this._jobs.delete(key);
    this._listener('superseded', undefined);
    job.finish('superseded');
  }

  private _failed(key: string, resourceId: string, err: unknown, ref: ObjectRef): IngestOutcome {
    if (err instanceof LimitExceeded) return this._limited(key, resourceId, err, ref);
    // Generators report expected problems through ObjectErrors; anything thrown is a bug, but
    // one object must not take the bridge down.
    this._errors.record(resourceId, '*', 'internal', (err as Error).message, ref);
    this._listener('failed', resourceId);
    return 'failed';
  }

  private _limited(key: string, resourceId: string, cut: LimitExceeded, ref: ObjectRef): IngestOutcome {
    this._cache.delete(key);
    this._errors.record(resourceId, cut.family, cut.kind, cut.message, ref);
    this._listener('limited', resourceId);
    return 'limited';
  }
}
