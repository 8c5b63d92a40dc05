import type { CompiledConfig } from '../generate/CompiledConfig.ts';
import { systemClock } from '../../runtime/Clock.ts';
import type { Clock } from '../../runtime/Clock.ts';
import { Slicer } from '../../runtime/Slicer.ts';
import type { CompiledResource, ObjectSeries } from '../generate/CompiledResource.ts';
import { SliceNeeded } from '../generate/SeriesBudget.ts';
import type { FamilyHeadroom, SliceThreshold } from '../generate/SeriesBudget.ts';
import { BUDGET_NAMES, DEFAULT_LIMITS, LimitExceeded, limitKebab, limitKind } from '../limits.ts';
import type { BudgetName, Budgets } from '../limits.ts';
import { isMap } from '../../go/kubeJson.ts';
import { BudgetLedger } from './BudgetLedger.ts';
import type { BudgetAge, BudgetCost, BudgetEntry } from './BudgetLedger.ts';
import { objectGvk } from '../../model/gvk.ts';
import { objectRef } from '../../model/objectRef.ts';
import type { ObjectRef } from '../../model/objectRef.ts';
import { SyncedKeys } from '../../runtime/SyncedKeys.ts';
import { resourceFor } from './resourceFor.ts';
import type { ObjectErrors } from '../ObjectErrors.ts';
import type { SeriesCache } from './SeriesCache.ts';

/**
 * What happened to one object event, for self-metrics. `superseded`: a delete or a newer update of
 * the same object arrived while this one was still being generated in slices, and won.
 */
export type IngestOutcome =
  | 'upserted'
  | 'unmatched'
  | 'deleted'
  | 'unknown-delete'
  | 'failed'
  | 'limited'
  | 'superseded'
  /** Not this bridge's object (`accept`, sharding): tracked, never stored, not reported. */
  | 'refused';

/** Told of every object event's outcome; `object` is the object of an upsert (undefined for deletes). */
export type IngestListener = (
  outcome: IngestOutcome,
  resourceId: string | undefined,
  object?: unknown,
) => void;

/**
 * How `ingest` spreads a large object's work over event-loop turns (the `run` path), so that one
 * object never holds the loop (scrapes, probes, other objects) for long.
 */
export interface IngestSlicing {
  /** Objects above either count are generated in slices; smaller ones in one go. @default { series: 200, labelBytes: 65536 } */
  readonly sliceAbove?: SliceThreshold;
  /** Time one slice may take before it yields to the event loop. @default 4 */
  readonly sliceMs?: number;
  /** Times the slices and runs each in a later turn; tests make slicing deterministic with a fake. @default systemClock */
  readonly clock?: Clock;
}

const DEFAULT_SLICE_ABOVE: SliceThreshold = { series: 200, labelBytes: 64 * 1024 };

/** One object being generated in slices. */
interface SlicedJob {
  cancelled: boolean;
  /** Settles the promise `ingest` returned. */
  readonly finish: (outcome: IngestOutcome) => void;
}

export interface ObjectIngestorOptions {
  /** Told of every event's outcome (self-metrics, `render`'s report). @default none */
  readonly listener?: IngestListener;
  /** Generate large objects across event-loop turns (`run`). @default undefined: in one stretch */
  readonly slicing?: IngestSlicing;
  /**
   * Whether this bridge serves an object (sharding: its shard's objects only). Objects it does not
   * accept are still tracked, so a relist diffs them like any other, but never stored; an object
   * that stops being accepted loses its series. @default every object
   */
  readonly accept?: (object: unknown) => boolean;
  /**
   * The budgets across objects (limits.ts). @default the config's (the `--limits.*` flags or the
   * defaults derived from the heap limit; a resource cannot set them)
   */
  readonly budgets?: Budgets;
  /**
   * Told, a moment after a delete or a removal freed room in the budgets, the keys of objects a
   * budget refused that would fit now, oldest first: their sources deliver them again, since only
   * their identity and cost were kept. @default none (they come back at their next change)
   */
  readonly onReadmissible?: (keys: readonly string[]) => void;
  /** How long after room is freed the refused objects are looked at. @default 1000 */
  readonly readmitDelayMs?: number;
}

/** Refused objects offered back at a time: a relist or re-read delivers them all anyway. */
const READMIT_BATCH = 1_000;

/** The budgets a compiled config carries: every resource has the same (flags or defaults). */
export function budgetsOf(config: CompiledConfig): Budgets {
  const limits = config.resources[0]?.limits ?? DEFAULT_LIMITS;
  return Object.fromEntries(BUDGET_NAMES.map((n) => [n, limits[n]])) as unknown as Budgets;
}

/** What an object's series cost against the budgets: series served one each, and their text. */
export function seriesCost(series: ObjectSeries): BudgetCost {
  let count = 0;
  let bytes = 0;
  for (const slot of series) {
    // Aggregate contributions and health observations are bounded by their own tables.
    if (slot && 'points' in slot && 'text' in slot) {
      count += slot.points.length;
      bytes += slot.text.length;
    }
  }
  return { series: count, bytes };
}

/** An object's age for the budgets: its creationTimestamp, then its name. */
export function budgetAge(object: unknown, ref: ObjectRef): BudgetAge {
  const metadata = isMap(object) && isMap(object.metadata) ? object.metadata : undefined;
  const created = metadata?.creationTimestamp;
  const ms = typeof created === 'string' ? Date.parse(created) : NaN;
  return { createdMs: Number.isNaN(ms) ? -Infinity : ms, name: ref.name ?? '' };
}

const BUDGET_HELP: Readonly<Record<BudgetName, string>> = {
  totalSeries: 'the series budget of the process',
  totalSeriesBytes: 'the sample-line bytes budget of the process',
  namespaceSeries: 'the series budget of its namespace',
  namespaceSeriesBytes: 'the sample-line bytes budget of its namespace',
};

/**
 * The one place where object events become cache changes: it finds the resource an object belongs
 * to, computes its series once and stores them. A source (files, API server) only reports
 * add/update/delete and when it lists a scope in full (the ObjectSink contract, which this
 * implements: the relist diff is done here, once). A failure on one object is counted and never
 * stops the others.
 *
 * Limits (see limits.ts) are enforced here and while the series are generated: an object over a
 * limit is dropped whole (its previous series too, so nothing stale or partial is served),
 * counted in ObjectErrors with a `limit-*` kind, and the outcome is `limited`.
 *
 * With `slicing` (`run`), an ordinary object is still computed in one synchronous stretch, but one
 * that turns out large is generated across event-loop turns in slices of a few ms; its new series
 * replace the old ones atomically when the generation completes (a scrape meanwhile sees the old
 * series whole), and a delete or newer update of the same key supersedes it.
 */
export class ObjectIngestor {
  private readonly _config: CompiledConfig;
  private readonly _cache: SeriesCache;
  private readonly _errors: ObjectErrors;
  private readonly _listener: IngestListener;
  private readonly _slicing: Required<IngestSlicing> | undefined;
  private readonly _accept: ((object: unknown) => boolean) | undefined;
  private readonly _jobs = new Map<string, SlicedJob>();
  /** Every key delivered, per scope, accepted or not. */
  private readonly _keys = new SyncedKeys();
  /** Keys whose object `accept` refused (another shard's). */
  private readonly _refused = new Set<string>();
  /** The budgets across objects; undefined when every budget is 0 (unlimited). */
  private readonly _ledger: BudgetLedger | undefined;
  private readonly _onReadmissible: ((keys: readonly string[]) => void) | undefined;
  private readonly _readmitDelayMs: number;
  private _readmitTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    config: CompiledConfig,
    cache: SeriesCache,
    errors: ObjectErrors,
    options: ObjectIngestorOptions = {},
  ) {
    this._config = config;
    this._cache = cache;
    this._errors = errors;
    this._listener = options.listener ?? (() => undefined);
    this._accept = options.accept;
    const ledger = new BudgetLedger(options.budgets ?? budgetsOf(config));
    this._ledger = ledger.enabled ? ledger : undefined;
    this._onReadmissible = options.onReadmissible;
    this._readmitDelayMs = options.readmitDelayMs ?? 1000;
    const slicing = options.slicing;
    if (slicing) {
      this._slicing = {
        sliceAbove: slicing.sliceAbove ?? DEFAULT_SLICE_ABOVE,
        sliceMs: slicing.sliceMs ?? 4,
        clock: slicing.clock ?? systemClock,
      };
    }
  }

  /** Objects being generated in slices right now. */
  get pending(): number {
    return this._jobs.size;
  }

  /** Objects delivered (in any scope) that `accept` refused. */
  get refusedCount(): number {
    return this._refused.size;
  }

  /** Objects delivered (in any scope) and accepted, stored or not (unmatched, limited). */
  get keptCount(): number {
    return this._keys.size - this._refused.size;
  }

  /**
   * Adds or replaces the object stored under `key` (unique across scopes). With `slicing`, a large
   * object is generated in slices and a promise of its outcome is returned: a source waits for it
   * before delivering its next event (backpressure: a stream of large objects is read only as fast
   * as it is generated). The promise never rejects.
   */
  upsert(
    scope: string,
    key: string,
    object: unknown,
    origin: string = scope,
  ): IngestOutcome | Promise<IngestOutcome> {
    return this._track(scope, key, object, origin, this._slicing !== undefined);
  }

  /** `upsert` in one synchronous stretch, whatever the object's size and the slicing. */
  upsertNow(scope: string, key: string, object: unknown, origin: string = scope): IngestOutcome {
    return this._track(scope, key, object, origin, false) as IngestOutcome;
  }

  delete(scope: string, key: string): IngestOutcome {
    this._keys.remove(scope, key);
    return this._delete(key);
  }

  beginSync(scope: string, options?: { readonly live?: boolean }): void {
    this._keys.beginListing(scope, options?.live);
  }

  endSync(scope: string): void {
    for (const key of this._keys.endListing(scope)) this._delete(key);
  }

  dropScope(scope: string): void {
    for (const key of this._keys.drop(scope)) this._delete(key);
  }

  objectCount(scope: string): number {
    return this._keys.count(scope);
  }

  /** The budgets across objects and their use; undefined when every budget is unlimited. */
  get budgets(): BudgetLedger | undefined {
    return this._ledger;
  }

  /** Abandons every generation in progress (the generation this ingestor feeds is being stopped). */
  cancelAll(): void {
    for (const key of [...this._jobs.keys()]) this._supersede(key);
    clearTimeout(this._readmitTimer);
    this._readmitTimer = undefined;
  }

  /** Room was freed in the budgets: soon, offer back the refused objects that fit now. */
  private _roomFreed(): void {
    const ledger = this._ledger;
    if (!ledger || !this._onReadmissible || this._readmitTimer || ledger.droppedCount === 0) return;
    this._readmitTimer = setTimeout(() => {
      this._readmitTimer = undefined;
      const keys = ledger.readmissible(READMIT_BATCH).map((e) => e.key);
      if (keys.length > 0) this._onReadmissible!(keys);
    }, this._readmitDelayMs);
    this._readmitTimer.unref?.();
  }

  private _delete(key: string): IngestOutcome {
    this._supersede(key);
    // Another shard's object was never stored: forgetting it is no event.
    if (this._refused.delete(key)) return 'deleted';
    // Counted under the resource the object was stored for (a delete has no object to match).
    const resourceId = this._cache.resourceIdOf(key) ?? this._ledger?.entry(key)?.resource;
    this._ledger?.remove(key);
    this._roomFreed();
    const outcome = this._cache.delete(key) ? 'deleted' : 'unknown-delete';
    this._listener(outcome, resourceId);
    return outcome;
  }

  private _track(
    scope: string,
    key: string,
    object: unknown,
    origin: string,
    sliced: boolean,
  ): IngestOutcome | Promise<IngestOutcome> {
    this._keys.add(scope, key);
    if (this._accept && !this._accept(object)) {
      // It may have been ours before (deleted and recreated elsewhere during a watch gap, say).
      if (this._cache.has(key) || this._jobs.has(key)) this._delete(key);
      this._refused.add(key);
      return 'refused';
    }
    this._refused.delete(key);
    // A change inside a listing of its scope is no transition of its own (health counts only
    // changes seen as watch events).
    return this._upsert(key, object, origin, sliced, !this._keys.isReplaying(scope));
  }

  private _upsert(
    key: string,
    object: unknown,
    origin: string,
    sliced: boolean,
    counting: boolean,
  ): IngestOutcome | Promise<IngestOutcome> {
    // Events for one key apply in order: whatever arrives now wins over a generation in progress.
    this._supersede(key);
    const gvk = objectGvk(object);
    const resource = gvk ? resourceFor(this._config.resources, gvk) : undefined;
    if (!gvk || !resource) {
      // An object that no longer matches (e.g. its kind changed in a file) must not keep old series.
      this._cache.delete(key);
      this._ledger?.remove(key);
      this._roomFreed();
      this._listener('unmatched', undefined, object);
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
      if (this._ledger && !this._admit(this._ledger, key, object, resource.id, series, ref)) return 'limited';
      this._cache.upsert(key, resource, series, counting);
      this._listener('upserted', resource.id, object);
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
          counting,
          object,
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
    request: {
      version: string;
      kind: string;
      ref: ObjectRef;
      headroom: FamilyHeadroom | undefined;
      counting: boolean;
      /** Kept for its age only (the budgets), read when the generation commits. */
      object: unknown;
    },
  ): Promise<IngestOutcome> {
    const { clock, sliceMs } = this._slicing!;
    const slicer = new Slicer({ sliceMs, clock });
    const steps = resource.computeSeriesSliced(object, { ...request, errors: this._errors }, () =>
      slicer.due(),
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
      slicer.resume();
      let step: IteratorResult<void, ObjectSeries>;
      try {
        step = steps.next();
      } catch (err) {
        end(this._failed(key, resource.id, err, request.ref));
        return;
      }
      if (!step.done) clock.setImmediate(slice);
      else end(this._commit(key, resource, step.value, request));
    };
    clock.setImmediate(slice);
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
    request: { ref: ObjectRef; counting: boolean; object: unknown },
  ): IngestOutcome {
    const { ref, counting } = request;
    const over =
      this._overResourceObjects(this._cache.has(key), resource) ?? this._overFamilies(key, resource, series);
    if (over) return this._limited(key, resource.id, over, ref);
    if (this._ledger && !this._admit(this._ledger, key, request.object, resource.id, series, ref))
      return 'limited';
    this._cache.upsert(key, resource, series, counting);
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
      // Aggregate contributions and health observations are not served one series each.
      if (block && 'points' in block && this._cache.familyHeadroom(meta, key, limit) < block.points.length)
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

  /**
   * The budgets across objects, once the object's series are known: admitted (possibly in place
   * of newer objects of its namespace, whose series go now), or refused (its previous series go,
   * it is counted as a cut-off and reported `limited`).
   */
  private _admit(
    ledger: BudgetLedger,
    key: string,
    object: unknown,
    resourceId: string,
    series: ObjectSeries,
    ref: ObjectRef,
  ): boolean {
    const namespace = ref.namespace ?? '';
    const admission = ledger.admit(key, resourceId, namespace, budgetAge(object, ref), seriesCost(series));
    if (!admission.admitted) {
      const limit = admission.limit;
      this._cache.delete(key);
      this._errors.record(
        resourceId,
        '*',
        limitKind(limit),
        budgetMessage(ledger.budgets, limit, namespace),
        ref,
      );
      this._listener('limited', resourceId);
      return false;
    }
    for (const evicted of admission.evicted) this._evicted(ledger, evicted);
    return true;
  }

  /** A newer object of the namespace that gave its room to an older one. */
  private _evicted(ledger: BudgetLedger, entry: BudgetEntry): void {
    this._cache.delete(entry.key);
    const limit = entry.droppedBy!;
    this._errors.record(
      entry.resource,
      '*',
      limitKind(limit),
      `${budgetMessage(ledger.budgets, limit, entry.namespace)}; an older object of its namespace took its place`,
      { namespace: entry.namespace || undefined, name: entry.name },
    );
  }

  private _limited(key: string, resourceId: string, cut: LimitExceeded, ref: ObjectRef): IngestOutcome {
    this._cache.delete(key);
    this._ledger?.remove(key);
    this._roomFreed();
    this._errors.record(resourceId, cut.family, cut.kind, cut.message, ref);
    this._listener('limited', resourceId);
    return 'limited';
  }
}

function budgetMessage(budgets: Budgets, limit: BudgetName, namespace: string): string {
  const where = limit.startsWith('namespace')
    ? ` in namespace ${namespace === '' ? '(cluster-scoped)' : namespace}`
    : '';
  return `object not served: it would exceed ${BUDGET_HELP[limit]} (${budgets[limit]}${where}; --limits.${limitKebab(limit)}), where the newest objects of a namespace give way first`;
}
