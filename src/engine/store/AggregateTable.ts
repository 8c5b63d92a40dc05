import { renderBlock } from '../../exposition/SeriesBlock.ts';
import type { SeriesBlock } from '../../exposition/SeriesBlock.ts';
import type { AggregateSpec, FamilyMeta } from '../../model/FamilyMeta.ts';
import { labelsKey } from '../generate/AggregateContribution.ts';
import type { AggregateContribution, GroupShare } from '../generate/AggregateContribution.ts';
import { CountedHeap } from './CountedHeap.ts';

/** The label that marks the series the groups beyond the limit fold into (the OpenTelemetry SDK's convention). */
export const OVERFLOW_LABEL = 'otel_metric_overflow';

/** Keys of overflow groups start with this; a group key never does (a label name is followed by \u0000). */
const OVERFLOW_KEY = 'overflow\u0002';

/** One group of an aggregate family: the shares of every object in it, combined. */
interface Group {
  readonly key: string;
  readonly labels: readonly (readonly [string, string])[];
  /** Series in the group, over all objects. */
  count: number;
  /** The finite values' sum as an unevaluated pair (hi + lo): additions and removals stay exact for integers. */
  hi: number;
  lo: number;
  nan: number;
  posInf: number;
  negInf: number;
  /** The objects' minimums and maximums, for `min` and `max` families only. */
  readonly mins: CountedHeap | undefined;
  readonly maxs: CountedHeap | undefined;
  /** The group's rendered line, made when it is first read after a change (undefined: stale). */
  block: SeriesBlock | undefined;
  /** Whether the group has a value to serve (a `min` of NaN-only series has none). */
  served: boolean;
}

/**
 * The groups of one aggregate family, kept exact as objects come, change and go: applying an
 * object's new contribution first takes its previous one out, so an event costs time in
 * proportion to that object's own shares, and a scrape reads one prerendered block per group.
 * Past `maxGroups`, shares of new groups fold into one overflow group per set of constant labels
 * (labelled `otel_metric_overflow="true"`); a share remembers where it went, so taking it out
 * later is exact too. A changed group's line is rendered when it is next read (a scrape or an
 * export), so a burst of events on one group costs one rendering.
 */
export class AggregateTable {
  private readonly _family: FamilyMeta;
  private readonly _spec: AggregateSpec;
  private readonly _groups = new Map<string, Group>();
  /** Groups that are not overflow groups (the ones the limit counts). */
  private _ownGroups = 0;
  private readonly _onFold: (() => void) | undefined;

  constructor(family: FamilyMeta, onFold?: () => void) {
    if (!family.aggregate) throw new Error(`${family.name} is not an aggregate family`);
    this._family = family;
    this._spec = family.aggregate;
    this._onFold = onFold;
  }

  /** Groups served (overflow groups included). */
  get size(): number {
    let n = 0;
    for (const g of this._groups.values()) if (g.served) n++;
    return n;
  }

  /** One block per served group, in the order groups first appeared. */
  *blocks(): Iterable<SeriesBlock> {
    for (const g of this._groups.values()) {
      if (!g.served) continue;
      g.block ??= renderBlock(this._family.name, [{ labels: g.labels, value: this._value(g)! }]);
      yield g.block;
    }
  }

  /** Replaces one object's contribution: `previous` comes out, `next` goes in. */
  update(previous: AggregateContribution | undefined, next: AggregateContribution | undefined): void {
    const touched = new Set<Group>();
    if (previous) for (const share of previous.shares) this._remove(share, touched);
    if (next) for (const share of next.shares) this._add(share, touched);
    for (const group of touched) this._settle(group);
  }

  private _add(share: GroupShare, touched: Set<Group>): void {
    let group = this._groups.get(share.key);
    if (!group) {
      const max = this._spec.maxGroups;
      if (max > 0 && this._ownGroups >= max) {
        group = this._overflow(share);
        this._onFold?.();
      } else {
        group = this._newGroup(share.key, share.labels);
        this._ownGroups++;
      }
    }
    share.placedIn = group;
    group.count += share.count;
    addExact(group, share.sum);
    group.nan += share.nan;
    group.posInf += share.posInf;
    group.negInf += share.negInf;
    if (share.count > share.nan) {
      group.mins?.add(share.min);
      group.maxs?.add(-share.max);
    }
    touched.add(group);
  }

  private _remove(share: GroupShare, touched: Set<Group>): void {
    const group = share.placedIn as Group | undefined;
    if (!group) return;
    group.count -= share.count;
    addExact(group, -share.sum);
    group.nan -= share.nan;
    group.posInf -= share.posInf;
    group.negInf -= share.negInf;
    if (share.count > share.nan) {
      group.mins?.remove(share.min);
      group.maxs?.remove(-share.max);
    }
    touched.add(group);
  }

  /** The overflow group for a share's constant labels. */
  private _overflow(share: GroupShare): Group {
    const by = new Set(this._spec.by);
    const labels: (readonly [string, string])[] = share.labels.filter(([k]) => !by.has(k));
    labels.push([OVERFLOW_LABEL, 'true']);
    labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = `${OVERFLOW_KEY}${labelsKey(labels)}`;
    return this._groups.get(key) ?? this._newGroup(key, labels);
  }

  private _newGroup(key: string, labels: readonly (readonly [string, string])[]): Group {
    const fn = this._spec.function;
    const group: Group = {
      key,
      labels,
      count: 0,
      hi: 0,
      lo: 0,
      nan: 0,
      posInf: 0,
      negInf: 0,
      mins: fn === 'min' ? new CountedHeap() : undefined,
      maxs: fn === 'max' ? new CountedHeap() : undefined,
      block: undefined,
      served: false,
    };
    this._groups.set(key, group);
    return group;
  }

  /** Marks a group that changed for rendering, or drops it when it has no series left. */
  private _settle(group: Group): void {
    group.block = undefined;
    if (group.count === 0) {
      // Nothing left: start the sums afresh, whatever rounding a fractional value left behind.
      group.hi = group.lo = 0;
      const overflow = group.key.startsWith(OVERFLOW_KEY);
      if (!this._spec.keepEmptyGroups || overflow) {
        this._groups.delete(group.key);
        if (!overflow) this._ownGroups--;
        group.served = false;
        return;
      }
    }
    group.served = this._value(group) !== undefined;
  }

  /** The group's value, as PromQL's aggregation of the same series would give it. */
  private _value(group: Group): number | undefined {
    switch (this._spec.function) {
      case 'count':
        return group.count;
      case 'sum':
        if (group.nan > 0 || (group.posInf > 0 && group.negInf > 0)) return NaN;
        if (group.posInf > 0) return Infinity;
        if (group.negInf > 0) return -Infinity;
        return group.hi + group.lo;
      case 'min': {
        const min = group.mins!.top();
        return min ?? (group.nan > 0 ? NaN : undefined);
      }
      case 'max': {
        const max = group.maxs!.top();
        return max === undefined ? (group.nan > 0 ? NaN : undefined) : -max;
      }
    }
  }
}

/** Adds `x` to the group's sum without losing the rounding error (TwoSum into hi + lo). */
function addExact(group: Group, x: number): void {
  const s = group.hi + x;
  const bp = s - group.hi;
  const error = group.hi - (s - bp) + (x - bp);
  group.hi = s;
  group.lo += error;
}
