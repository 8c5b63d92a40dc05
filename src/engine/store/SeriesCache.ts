import type { SeriesBlock } from '../../exposition/SeriesBlock.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import { isContribution } from '../generate/AggregateContribution.ts';
import type { AggregateContribution } from '../generate/AggregateContribution.ts';
import type { CompiledResource, ObjectSeries } from '../generate/CompiledResource.ts';
import { isHealthObservation } from '../generate/HealthJudge.ts';
import { AggregateTable } from './AggregateTable.ts';
import { HealthTracker } from './HealthTracker.ts';
import type { HealthEvents } from './HealthTracker.ts';

interface CachedObject {
  readonly resource: CompiledResource;
  readonly series: ObjectSeries;
}

export interface SeriesCacheOptions {
  /** Told when a share of an aggregate family folds into its overflow series. @default none */
  readonly onAggregateFold?: (family: FamilyMeta) => void;
  /** Told of health transitions and first times to healthy. @default none */
  readonly healthEvents?: HealthEvents;
  /** Epoch seconds, for when a health state was first seen. @default the current second */
  readonly now?: () => number;
}

/**
 * The series of every known object, computed when the object changed. Kept per family so a scrape
 * only concatenates each family's blocks (contiguous samples under one HELP/TYPE) and deleting an
 * object drops its series everywhere at once. An aggregate family keeps its groups beside the
 * objects (AggregateTable), updated from each object's contribution. Nothing here is computed at
 * collection time.
 */
export class SeriesCache {
  readonly families: readonly FamilyMeta[];
  private readonly _objects = new Map<string, CachedObject>();
  private readonly _byFamily: Map<string, SeriesBlock>[];
  /** Per family index: the groups of an aggregate family, undefined for the others. */
  private readonly _aggregates: (AggregateTable | undefined)[];
  /** Per family index: the health history behind a health tracker family. */
  private readonly _trackers: (HealthTracker | undefined)[];
  /** Series per family, kept up to date so a cardinality check is O(1). */
  private readonly _seriesPerFamily: number[];
  private readonly _objectsPerResource = new Map<string, number>();

  constructor(families: readonly FamilyMeta[], options: SeriesCacheOptions = {}) {
    this.families = families;
    this._byFamily = families.map(() => new Map<string, SeriesBlock>());
    this._seriesPerFamily = families.map(() => 0);
    const onFold = options.onAggregateFold;
    this._aggregates = families.map((f) =>
      f.aggregate ? new AggregateTable(f, onFold ? () => onFold(f) : undefined) : undefined,
    );
    this._trackers = families.map((f) =>
      f.health ? new HealthTracker(f, options.healthEvents, options.now) : undefined,
    );
  }

  get objectCount(): number {
    return this._objects.size;
  }

  has(key: string): boolean {
    return this._objects.has(key);
  }

  /**
   * How many series `family` may still take from the object stored under `key` (its current
   * series there are about to be replaced, so they do not count) before reaching `limit`.
   */
  familyHeadroom(family: FamilyMeta, key: string, limit: number): number {
    if (limit <= 0 || family.aggregate) return Infinity;
    const own = this._byFamily[family.index]!.get(key)?.points.length ?? 0;
    return limit - (this._seriesPerFamily[family.index]! - own);
  }

  /**
   * Stores (or replaces) an object's series under a key unique across resources. `counting`: the
   * change came as a watch event (health transitions count), not in a listing.
   */
  upsert(key: string, resource: CompiledResource, series: ObjectSeries, counting = true): void {
    const previous = this._objects.get(key);
    if (!previous)
      this._objectsPerResource.set(resource.id, (this._objectsPerResource.get(resource.id) ?? 0) + 1);
    else if (previous.resource !== resource) this._removeBlocks(key, previous);
    const sameResource = previous?.resource === resource;
    this._objects.set(key, { resource, series });
    // Replace in place (Map.set keeps an existing key's position), so a scrape that is iterating
    // while events arrive never sees an object twice.
    for (let i = 0; i < series.length; i++) {
      const index = resource.families[i]!.meta.index;
      const slot = series[i];
      const tracker = this._trackers[index];
      if (tracker) {
        tracker.update(key, isHealthObservation(slot) ? slot : undefined, counting);
        continue;
      }
      const table = this._aggregates[index];
      if (table) {
        const before = sameResource ? previous.series[i] : undefined;
        table.update(isContribution(before) ? before : undefined, isContribution(slot) ? slot : undefined);
        continue;
      }
      const family = this._byFamily[index]!;
      const block = slot as SeriesBlock | undefined;
      // Read even for a new object: two metrics of one resource with the same name share a
      // family, and the second block replaces the first written just above.
      const before = family.get(key)?.points.length ?? 0;
      if (block) family.set(key, block);
      else family.delete(key);
      this._seriesPerFamily[index]! += (block?.points.length ?? 0) - before;
    }
  }

  /** The resource an object under `key` is stored for, if it is. */
  resourceIdOf(key: string): string | undefined {
    return this._objects.get(key)?.resource.id;
  }

  delete(key: string): boolean {
    const previous = this._objects.get(key);
    if (!previous) return false;
    this._removeBlocks(key, previous);
    this._objects.delete(key);
    const id = previous.resource.id;
    const left = (this._objectsPerResource.get(id) ?? 1) - 1;
    if (left === 0) this._objectsPerResource.delete(id);
    else this._objectsPerResource.set(id, left);
    return true;
  }

  /**
   * Blocks of one family, in the order objects (or an aggregate's groups) were first added. Safe
   * to iterate across awaits while the cache changes: each object is visited at most once.
   */
  blocks(family: FamilyMeta): Iterable<SeriesBlock> {
    return (
      this._aggregates[family.index]?.blocks() ??
      this._trackers[family.index]?.blocks() ??
      this._byFamily[family.index]!.values()
    );
  }

  /** Whether any object has series in this family (O(1); O(groups) for an aggregate). */
  hasSeries(family: FamilyMeta): boolean {
    const table = this._aggregates[family.index] ?? this._trackers[family.index];
    return table ? table.size > 0 : this._byFamily[family.index]!.size > 0;
  }

  /** Series served in this family (for an aggregate, its groups). */
  seriesCount(family: FamilyMeta): number {
    return (
      this._aggregates[family.index]?.size ??
      this._trackers[family.index]?.size ??
      this._seriesPerFamily[family.index]!
    );
  }

  objectsOf(resourceId: string): number {
    return this._objectsPerResource.get(resourceId) ?? 0;
  }

  private _removeBlocks(key: string, cached: CachedObject): void {
    for (let i = 0; i < cached.series.length; i++) {
      const slot = cached.series[i];
      if (!slot) continue;
      const index = cached.resource.families[i]!.meta.index;
      const table = this._aggregates[index];
      if (table) {
        table.update(slot as AggregateContribution, undefined);
        continue;
      }
      const tracker = this._trackers[index];
      if (tracker) {
        tracker.update(key, undefined, false);
        continue;
      }
      const family = this._byFamily[index]!;
      const block = family.get(key);
      if (block) {
        this._seriesPerFamily[index]! -= block.points.length;
        family.delete(key);
      }
    }
  }
}
