import type { SeriesBlock } from '../../exposition/SeriesBlock.ts';
import type { CompiledResource, ObjectSeries } from '../generate/CompiledResource.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';

interface CachedObject {
  readonly resource: CompiledResource;
  readonly series: ObjectSeries;
}

/**
 * The series of every known object, computed when the object changed. Kept per family so a scrape
 * only concatenates each family's blocks (contiguous samples under one HELP/TYPE) and deleting an
 * object drops its series everywhere at once. Nothing here is computed at collection time.
 */
export class SeriesCache {
  readonly families: readonly FamilyMeta[];
  private readonly _objects = new Map<string, CachedObject>();
  private readonly _byFamily: Map<string, SeriesBlock>[];
  /** Series per family, kept up to date so a cardinality check is O(1). */
  private readonly _seriesPerFamily: number[];
  private readonly _objectsPerResource = new Map<string, number>();

  constructor(families: readonly FamilyMeta[]) {
    this.families = families;
    this._byFamily = families.map(() => new Map<string, SeriesBlock>());
    this._seriesPerFamily = families.map(() => 0);
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
    if (limit <= 0) return Infinity;
    const own = this._byFamily[family.index]!.get(key)?.points.length ?? 0;
    return limit - (this._seriesPerFamily[family.index]! - own);
  }

  /** Stores (or replaces) an object's series under a key unique across resources. */
  upsert(key: string, resource: CompiledResource, series: ObjectSeries): void {
    const previous = this._objects.get(key);
    if (!previous)
      this._objectsPerResource.set(resource.id, (this._objectsPerResource.get(resource.id) ?? 0) + 1);
    else if (previous.resource !== resource) this._removeBlocks(key, previous);
    this._objects.set(key, { resource, series });
    // Replace in place (Map.set keeps an existing key's position), so a scrape that is iterating
    // while events arrive never sees an object twice.
    for (let i = 0; i < series.length; i++) {
      const index = resource.families[i]!.meta.index;
      const family = this._byFamily[index]!;
      const block = series[i];
      // Read even for a new object: two metrics of one resource with the same name share a
      // family, and the second block replaces the first written just above.
      const before = family.get(key)?.points.length ?? 0;
      if (block) family.set(key, block);
      else family.delete(key);
      this._seriesPerFamily[index]! += (block?.points.length ?? 0) - before;
    }
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
   * Blocks of one family, in the order objects were first added. Safe to iterate across awaits
   * while the cache changes: each object is visited at most once.
   */
  blocks(family: FamilyMeta): Iterable<SeriesBlock> {
    return this._byFamily[family.index]!.values();
  }

  /** Whether any object has series in this family (O(1)). */
  hasSeries(family: FamilyMeta): boolean {
    return this._byFamily[family.index]!.size > 0;
  }

  seriesCount(family: FamilyMeta): number {
    return this._seriesPerFamily[family.index]!;
  }

  objectsOf(resourceId: string): number {
    return this._objectsPerResource.get(resourceId) ?? 0;
  }

  private _removeBlocks(key: string, cached: CachedObject): void {
    for (let i = 0; i < cached.series.length; i++) {
      if (!cached.series[i]) continue;
      const index = cached.resource.families[i]!.meta.index;
      const family = this._byFamily[index]!;
      const block = family.get(key);
      if (block) {
        this._seriesPerFamily[index]! -= block.points.length;
        family.delete(key);
      }
    }
  }
}
