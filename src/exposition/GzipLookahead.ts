import { ArrivalForecast } from '../runtime/ArrivalForecast.ts';
import { systemClock } from '../runtime/Clock.ts';
import type { Clock } from '../runtime/Clock.ts';
import type { FamilyMeta } from '../model/FamilyMeta.ts';
import { compressionGroups, EncodedChunk } from './BlockChunks.ts';
import { GROUP_BYTES } from './ExpositionBody.ts';

/** Families with their chunks, taken in one synchronous step (one consistent state). */
export type FamilyChunks = ReadonlyMap<FamilyMeta, readonly EncodedChunk[]>;

/** A state of the families, compressed only (their text is not kept), and when it was taken. */
export interface PreparedFamilies {
  /** Epoch ms of the snapshot. */
  readonly takenAt: number;
  readonly families: FamilyChunks;
}

export interface GzipLookaheadOptions {
  /** The families as they are now, or undefined when there is nothing to serve. */
  readonly snapshot: () => FamilyChunks | undefined;
  /**
   * How old a prepared state may be when a gzip scrape is answered with it. 0 turns preparing
   * off (every gzip scrape compresses what changed since the last). @default DEFAULT_GZIP_MAX_STALENESS_MS
   */
  readonly maxStalenessMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * How old a prepared state may be when it answers a scrape, by default: long enough for a
 * preparation under load (100k objects changing throughout: see docs/benchmarks.md), short beside
 * a scrape interval.
 */
export const DEFAULT_GZIP_MAX_STALENESS_MS = 2000;

/** Preparations whose longest sets the lead of the next. */
const RECENT_PREPARATIONS = 4;

/** Compressions run at once while preparing: both cores, and libuv's other threads stay free. */
const PARALLEL = 2;

/**
 * Compresses the families ahead of the gzip scrapes it expects. Under churn spread over every
 * object, every chunk changes between two scrapes, so a scrape that compresses what changed
 * compresses nearly everything. Scrapers come at a fixed interval (ArrivalForecast), so the same
 * work is done shortly before the next one is due, and that scrape writes pieces already
 * compressed: the state of the cache at most `maxStalenessMs` old, every object all old or all
 * new. The work per scrape is what the scrape itself would have done; a prediction that fails
 * costs one preparation and leaves the scrape to compress for itself.
 */
export class GzipLookahead {
  private readonly _snapshot: () => FamilyChunks | undefined;
  private readonly _maxStalenessMs: number;
  private readonly _clock: Clock;
  private readonly _forecast = new ArrivalForecast();
  private _prepared: PreparedFamilies | undefined;
  private _preparing: Promise<PreparedFamilies | undefined> | undefined;
  private _timer: unknown;
  private _dropTimer: unknown;
  /** How long the last few preparations took, oldest first; empty before the first. */
  private readonly _recentPrepareMs: number[] = [];
  private _closed = false;
  /** Preparations run (for tests and benchmarks). */
  preparations = 0;

  constructor(options: GzipLookaheadOptions) {
    this._snapshot = options.snapshot;
    this._maxStalenessMs = options.maxStalenessMs ?? DEFAULT_GZIP_MAX_STALENESS_MS;
    this._clock = options.clock ?? systemClock;
  }

  /** Records a gzip scrape by `requester` (who asked: the same string each time) and plans ahead. */
  arrived(requester: string): void {
    if (this._maxStalenessMs <= 0 || this._closed) return;
    const now = this._clock.now();
    this._forecast.arrived(requester, now);
    this._schedule(now);
  }

  /**
   * A prepared state taken at most `maxStalenessMs` before this call, waiting for the preparation
   * in flight if there is one (its work is what the scrape would do itself, on the same cores);
   * else undefined.
   */
  async ready(): Promise<PreparedFamilies | undefined> {
    const askedAt = this._clock.now();
    const prepared = this._fresh() ?? (this._preparing ? await this._preparing : undefined);
    return prepared !== undefined && askedAt - prepared.takenAt <= this._maxStalenessMs
      ? prepared
      : undefined;
  }

  /** Stops planning and drops the prepared state. */
  close(): void {
    this._closed = true;
    this._clock.clearTimeout(this._timer);
    this._clock.clearTimeout(this._dropTimer);
    this._timer = this._dropTimer = undefined;
    this._prepared = undefined;
  }

  /** Prepares now (what the timer does ahead of a predicted scrape). */
  prepare(): Promise<PreparedFamilies | undefined> {
    this._preparing ??= this._prepare().finally(() => (this._preparing = undefined));
    return this._preparing;
  }

  private _fresh(): PreparedFamilies | undefined {
    return this._prepared !== undefined && this._isFresh(this._prepared) ? this._prepared : undefined;
  }

  private _isFresh(prepared: PreparedFamilies): boolean {
    return this._clock.now() - prepared.takenAt <= this._maxStalenessMs;
  }

  private _schedule(after: number): void {
    this._clock.clearTimeout(this._timer);
    this._timer = undefined;
    const next = this._forecast.next(after);
    if (next === undefined) return;
    // Done shortly before the scrape is due: early enough for a preparation as long as the longest
    // of the last few (one that took less, on cores less busy for a moment, says little of the
    // next), late enough for the state to be recent. Before the first was timed, as early as the
    // staleness allows: a large cache takes far longer than a guess would.
    const earliest = this._maxStalenessMs * 0.8;
    const lead =
      this._recentPrepareMs.length === 0
        ? earliest
        : Math.min(earliest, Math.max(...this._recentPrepareMs) * 1.5 + 100);
    this._timer = this._clock.setTimeout(
      () => {
        this._timer = undefined;
        void this.prepare().then(() => {
          if (this._timer === undefined && !this._closed) this._schedule(next);
        });
      },
      Math.max(0, next - lead - this._clock.now()),
    );
    unref(this._timer);
  }

  private async _prepare(): Promise<PreparedFamilies | undefined> {
    const started = this._clock.monotonic();
    const takenAt = this._clock.now();
    const taken = this._snapshot();
    if (taken === undefined) return undefined;
    // Grouped as a scrape groups them (compressionGroups), each group kept as one chunk.
    const families = new Map<FamilyMeta, EncodedChunk[]>();
    const todo: EncodedChunk[] = [];
    for (const [family, chunks] of taken) {
      const pieces: EncodedChunk[] = [];
      for (const group of compressionGroups(chunks, GROUP_BYTES)) {
        const piece = group.length === 1 ? group[0]! : EncodedChunk.merged(group);
        pieces.push(piece);
        if (piece.compressed === undefined) todo.push(piece);
      }
      families.set(family, pieces);
    }
    this.preparations++;
    try {
      await compressAll(todo);
    } catch {
      return undefined; // a chunk that failed to compress is compressed again by the scrape
    }
    this._recentPrepareMs.push(this._clock.monotonic() - started);
    if (this._recentPrepareMs.length > RECENT_PREPARATIONS) this._recentPrepareMs.shift();
    // Kept compressed only: the text of the chunks it was taken from (the whole cache, under
    // churn) is freed as the cache moves on, not held until the state is dropped.
    for (const [family, pieces] of families)
      families.set(
        family,
        pieces.map((piece) => EncodedChunk.compressedOnly(piece.compressed!)),
      );
    const prepared = { takenAt, families };
    this._prepared = prepared;
    // Dropped once too old to serve, with the compressed pieces it holds.
    this._clock.clearTimeout(this._dropTimer);
    this._dropTimer = this._clock.setTimeout(
      () => {
        if (this._prepared === prepared) this._prepared = undefined;
      },
      Math.max(0, takenAt + this._maxStalenessMs - this._clock.now()) + 1,
    );
    unref(this._dropTimer);
    return prepared;
  }
}

/**
 * Compresses the chunks, PARALLEL at a time. Apart from _prepare: a closure there would share its
 * scope with the timer that drops the state, and keep these chunks (and their text) alive as long.
 */
async function compressAll(chunks: readonly EncodedChunk[]): Promise<void> {
  let at = 0;
  const worker = async (): Promise<void> => {
    while (at < chunks.length) await chunks[at++]!.deflated();
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}
