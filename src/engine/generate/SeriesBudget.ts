import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import { LimitExceeded } from '../limits.ts';
import type { SeriesLimits } from '../limits.ts';

/**
 * Thrown by a SeriesBudget given a slicing threshold, as soon as an object turns out to be large:
 * the caller starts it again in slices (see ObjectIngestor), so that no single event-loop turn
 * spends long on one object. Not a limit: nothing is counted or dropped.
 */
export class SliceNeeded extends Error {
  constructor() {
    super('object is large; generate it in slices');
    this.name = 'SliceNeeded';
  }
}

/** Above either count, an object is generated in slices instead of in one synchronous stretch. */
export interface SliceThreshold {
  /** Series (and per-object errors). @default 200 */
  readonly series: number;
  /** Label bytes, counted as for `objectLabelBytes`. @default 65536 */
  readonly labelBytes: number;
}

/** How many more series a family may take from this object (Infinity: no limit). */
export type FamilyHeadroom = (family: FamilyMeta) => number;

const unlimited = (n: number) => (n > 0 ? n : Infinity);

/**
 * The running account of one object's series while they are generated. Generators call
 * `series()` for every series they are about to emit; the first one over a limit throws
 * LimitExceeded, so a hostile object costs at most a limit's worth of work.
 */
export class SeriesBudget {
  private readonly _maxSeries: number;
  private readonly _maxBytes: number;
  private readonly _maxValue: number;
  private readonly _maxFamily: number;
  private readonly _headroom: FamilyHeadroom | undefined;
  /** Where add() leaves its fast path: the lower of the limit and the slicing threshold. */
  private readonly _seriesCheck: number;
  private readonly _bytesCheck: number;
  private _series = 0;
  private _bytes = 0;
  private _family: FamilyMeta | undefined;
  private _familyLeft = Infinity;
  private _base: ReadonlyMap<string, string> = new Map();
  private _baseBytes = 0;

  /**
   * With `sliceAbove`, crossing one of its counts (while under the limits) throws SliceNeeded. The
   * check shares the limit's comparison, so a budget without it costs nothing more per series.
   */
  constructor(limits: SeriesLimits, headroom?: FamilyHeadroom, sliceAbove?: SliceThreshold) {
    this._maxSeries = unlimited(limits.objectSeries);
    this._maxBytes = unlimited(limits.objectLabelBytes);
    this._maxValue = unlimited(limits.labelValueLength);
    this._maxFamily = unlimited(limits.familySeries);
    this._headroom = headroom;
    this._seriesCheck = Math.min(this._maxSeries, sliceAbove?.series ?? Infinity);
    this._bytesCheck = Math.min(this._maxBytes, sliceAbove?.labelBytes ?? Infinity);
  }

  /** Series accounted so far. */
  get series(): number {
    return this._series;
  }

  /** Label bytes accounted so far. */
  get labelBytes(): number {
    return this._bytes;
  }

  /** Starts a family: its base labels (resource and metric level) go into every one of its series. */
  startFamily(family: FamilyMeta, base: ReadonlyMap<string, string>): void {
    this._family = family;
    // An aggregate family's series are not served one by one: its groups have their own bound.
    this._familyLeft = family.aggregate
      ? Infinity
      : Math.min(this._maxFamily, this._headroom ? this._headroom(family) : Infinity);
    // Families that share their base labels (the usual case) check and count them once.
    if (base === this._base) return;
    let bytes = 0;
    for (const [k, v] of base) {
      this._checkValue(k, v);
      bytes += k.length + v.length;
    }
    this._base = base;
    this._baseBytes = bytes;
  }

  /**
   * Accounts one series of the current family whose each-level labels are `labels` (the base
   * labels are added to it later; an each-level label replaces a base label of the same name).
   */
  add(labels: ReadonlyMap<string, string>): void {
    const family = this._family?.name ?? '*';
    if (++this._series > this._seriesCheck) {
      if (this._series <= this._maxSeries) throw new SliceNeeded();
      throw new LimitExceeded(
        'objectSeries',
        family,
        `object has more than ${this._maxSeries} series (limits.objectSeries); dropped whole`,
      );
    }
    if (--this._familyLeft < 0)
      throw new LimitExceeded(
        'familySeries',
        family,
        `family ${family} would exceed ${this._maxFamily} series (limits.familySeries); object dropped whole`,
      );
    this._addBytes(labels, undefined, this._baseBytes);
  }

  /**
   * Accounts the labels a series takes from an enclosing iteration level (`forEach`): their bytes
   * only, the series was counted by `add`; labels the series has itself (`own`) win and cost nothing.
   */
  addInherited(labels: ReadonlyMap<string, string>, own: ReadonlyMap<string, string>): void {
    this._addBytes(labels, own, 0);
  }

  private _addBytes(
    labels: ReadonlyMap<string, string>,
    own: ReadonlyMap<string, string> | undefined,
    start: number,
  ): void {
    let bytes = start;
    for (const [k, v] of labels) {
      if (own?.has(k)) continue;
      this._checkValue(k, v);
      const base = this._base.get(k);
      bytes += base === undefined ? k.length + v.length : v.length - base.length;
    }
    this._bytes += bytes;
    if (this._bytes > this._bytesCheck) {
      if (this._bytes <= this._maxBytes) throw new SliceNeeded();
      throw new LimitExceeded(
        'objectLabelBytes',
        this._family?.name ?? '*',
        `object's labels exceed ${this._maxBytes} bytes in total (limits.objectLabelBytes); dropped whole`,
      );
    }
  }

  /**
   * Accounts one per-object error (a value that could not be read): errors cost about as much as
   * series (each is counted in a metric), so they count against `objectSeries` too.
   */
  addError(): void {
    if (++this._series > this._seriesCheck) {
      if (this._series <= this._maxSeries) throw new SliceNeeded();
      throw new LimitExceeded(
        'objectSeries',
        this._family?.name ?? '*',
        `object has more than ${this._maxSeries} series and errors (limits.objectSeries); dropped whole`,
      );
    }
  }

  private _checkValue(name: string, value: string): void {
    if (value.length > this._maxValue)
      throw new LimitExceeded(
        'labelValueLength',
        this._family?.name ?? '*',
        `label ${name.length > 100 ? name.slice(0, 100) + '…' : name} is ${value.length} characters long, over ${this._maxValue} (limits.labelValueLength); object dropped whole`,
      );
  }
}
