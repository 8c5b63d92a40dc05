import { BlockChunks, DEFAULT_CHUNK_BYTES, EncodedChunk } from '../../exposition/BlockChunks.ts';
import type { GzipDemand } from '../../exposition/BlockChunks.ts';
import type { SeriesBlock } from '../../exposition/SeriesBlock.ts';
import { Slicer } from '../../runtime/Slicer.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import { isContribution } from '../generate/AggregateContribution.ts';
import type { AggregateContribution } from '../generate/AggregateContribution.ts';
import type { CompiledResource, ObjectSeries } from '../generate/CompiledResource.ts';
import { isHealthObservation } from '../generate/HealthJudge.ts';
import { AggregateTable } from './AggregateTable.ts';
import { HealthTracker } from './HealthTracker.ts';
import type { HealthEvents } from './HealthTracker.ts';

/** Background passes a chunk that keeps changing may stay unencoded. */
const ENCODE_AT_LEAST_EVERY_PASSES = 10;

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
  /**
   * Text per chunk of consecutive objects of a family, the unit encoded and compressed again when
   * one of its objects changes (docs/serving.md, "Scrapes from bytes kept ready").
   * @default DEFAULT_CHUNK_BYTES
   */
  readonly chunkBytes?: number;
  /**
   * Interval of the background pass that encodes (and, once a client has asked for gzip,
   * compresses) the chunks that have not changed for one interval, so that scrapes find them
   * ready; it runs only while something changed. 0 = only when scraped. @default 1000
   */
  readonly settleMs?: number;
  /** Most text compressed in the background per settle pass; the rest waits for a scrape. @default 8 MiB */
  readonly settleDeflateBytes?: number;
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
  private readonly _byFamily: BlockChunks[];
  /** Per family index: the groups of an aggregate family, undefined for the others. */
  private readonly _aggregates: (AggregateTable | undefined)[];
  /** Per family index: the health history behind a health tracker family. */
  private readonly _trackers: (HealthTracker | undefined)[];
  /** Series per family, kept up to date so a cardinality check is O(1). */
  private readonly _seriesPerFamily: number[];
  private readonly _objectsPerResource = new Map<string, number>();
  private readonly _demand: GzipDemand = { wanted: false };
  private readonly _settleMs: number;
  private readonly _settleDeflateBytes: number;
  private _settleTimer: NodeJS.Timeout | undefined;
  private _settling = false;
  private _pass = 0;
  /** The last pass left chunks for the next one. */
  private _pending = false;

  constructor(families: readonly FamilyMeta[], options: SeriesCacheOptions = {}) {
    this.families = families;
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this._byFamily = families.map(() => new BlockChunks(chunkBytes, this._demand));
    this._settleMs = options.settleMs ?? 1000;
    this._settleDeflateBytes = options.settleDeflateBytes ?? 8 * 2 ** 20;
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
    // A copy whose per-object blocks are replaced by the ones the chunks keep (below): the
    // generated blocks hold their text as strings, which the chunks drop once encoded.
    const kept = series.slice();
    this._objects.set(key, { resource, series: kept });
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
      if (block) kept[i] = family.set(key, block);
      else family.delete(key);
      this._seriesPerFamily[index]! += (block?.points.length ?? 0) - before;
      this._settleLater();
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
        this._settleLater();
      }
    }
  }

  /**
   * A family as it is now, as immutable encoded chunks (see BlockChunks): what a scrape writes.
   * Taken for every family in one synchronous step, it is one consistent state of the cache.
   */
  snapshot(family: FamilyMeta): readonly EncodedChunk[] {
    const grouped = this._aggregates[family.index] ?? this._trackers[family.index];
    if (grouped) {
      const blocks = [...grouped.blocks()];
      return blocks.length === 0 ? [] : [EncodedChunk.of(blocks.map((b) => b.text).join(''), blocks)];
    }
    return this._byFamily[family.index]!.snapshot();
  }

  /**
   * Every family that has series, as snapshot() gives it, all taken in one synchronous step: one
   * consistent state of the cache (an aggregate agrees with the per-object series it counts).
   */
  snapshotFamilies(): Map<FamilyMeta, readonly EncodedChunk[]> {
    const out = new Map<FamilyMeta, readonly EncodedChunk[]>();
    for (const family of this.families) if (this.hasSeries(family)) out.set(family, this.snapshot(family));
    return out;
  }

  /** Chunks changed and not encoded since (for tests and benchmarks). */
  get dirtyChunks(): number {
    let n = 0;
    for (const f of this._byFamily) n += f.dirtyCount;
    return n;
  }

  /**
   * Encodes the chunks not encoded yet and, once a client has asked for gzip, compresses up to
   * `maxDeflateBytes` of them, in time slices (compression runs on libuv's thread pool).
   * `quietOnly`: only chunks that have not changed since the previous call (the background pass:
   * a chunk whose objects keep changing would be compressed again at every pass, for nothing,
   * as a scrape compresses what it needs anyway). Resolves when done; true if chunks were left
   * for the next call.
   */
  async settle(options: { quietOnly?: boolean; maxDeflateBytes?: number } = {}): Promise<boolean> {
    const pass = ++this._pass;
    const slicer = new Slicer({ sliceMs: 5 });
    const toDeflate: EncodedChunk[] = [];
    let left = false;
    for (const family of this._byFamily) {
      if (family.dirtyCount === 0 && !this._demand.wanted && !this._pending) continue;
      for (const chunk of family.snapshot()) {
        const done = chunk.encoded && (!this._demand.wanted || chunk.compressed !== undefined);
        if (done) continue;
        chunk.seenInPass ??= pass;
        chunk.dirtySincePass ??= pass;
        const quiet = !options.quietOnly || chunk.seenInPass < pass;
        // A chunk that keeps changing is still encoded now and then, so that the strings of its
        // changed blocks do not pile up beside its old bytes.
        const overdue = pass - chunk.dirtySincePass >= ENCODE_AT_LEAST_EVERY_PASSES;
        if (!quiet) left = true;
        if (!quiet && !(overdue && !chunk.encoded)) continue;
        if (!chunk.encoded) {
          chunk.bytes();
          const turn = slicer.turn();
          if (turn) await turn;
        }
        if (quiet && this._demand.wanted && chunk.compressed === undefined) toDeflate.push(chunk);
      }
    }
    let budget = options.maxDeflateBytes ?? Infinity;
    if (toDeflate.length > 0 && budget < Infinity) left = true; // cheaper than counting exactly
    // Two at a time: both cores, and libuv's other threads stay free for a scrape's compression.
    const next = async (): Promise<void> => {
      for (let chunk = toDeflate.shift(); chunk && budget > 0; chunk = toDeflate.shift()) {
        budget -= chunk.bytes().length; // encoded above
        await chunk.deflated();
      }
    };
    await Promise.all([next(), next()]);
    this._pending = left;
    return left;
  }

  private _settleLater(): void {
    if (this._settleTimer !== undefined || this._settling || this._settleMs <= 0) return;
    this._settleTimer = setTimeout(() => {
      this._settleTimer = undefined;
      this._settling = true;
      this.settle({ quietOnly: true, maxDeflateBytes: this._settleDeflateBytes })
        .catch(() => true) // a chunk that failed to compress is compressed again when scraped
        .then((left) => {
          this._settling = false;
          if (left || this.dirtyChunks > 0) this._settleLater();
        })
        .catch(() => undefined);
    }, this._settleMs);
    this._settleTimer.unref();
  }
}
