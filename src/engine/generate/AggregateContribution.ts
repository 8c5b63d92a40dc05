/**
 * What one object adds to one group of an aggregate family: how many of its series fall in the
 * group, and their values summarised (a count needs nothing else; sums, minimums and maximums are
 * combined across objects by the store). Computed once when the object changes; the store
 * subtracts it again when the object changes or goes.
 */
export interface GroupShare {
  /** The group's identity: its labels, canonically encoded. */
  readonly key: string;
  /** The group's labels, in label order: the constant labels and the `by` labels. */
  readonly labels: readonly (readonly [string, string])[];
  /** Series of the object in the group. */
  readonly count: number;
  /** Sum of the finite values. */
  readonly sum: number;
  /** Values that are NaN, +Inf and -Inf (kept apart so that a sum can be undone exactly). */
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  /** Smallest and largest value that is not NaN; +Inf and -Inf when there is none. */
  readonly min: number;
  readonly max: number;
  /** Where the store put this share (the group, or the overflow): set by the store, read on removal. */
  placedIn?: unknown;
}

/** One object's shares in one aggregate family. */
export interface AggregateContribution {
  readonly shares: readonly GroupShare[];
}

/** Whether a family slot of an object holds an aggregate contribution (not a series block). */
export function isContribution(slot: unknown): slot is AggregateContribution {
  return typeof slot === 'object' && slot !== null && 'shares' in slot;
}

/** The canonical key of an ordered label set. */
export function labelsKey(labels: readonly (readonly [string, string])[]): string {
  let key = '';
  for (const [k, v] of labels) key += `${k}\u0000${v}\u0001`;
  return key;
}

/**
 * Group keys and label arrays shared by the objects of one family: most objects fall in a few
 * groups, and a share then costs a reference instead of its own copies. Bounded, so that data
 * with unbounded group values (a name in `by`) stops interning instead of growing it.
 */
export class GroupInterner {
  private readonly _groups = new Map<
    string,
    { key: string; labels: readonly (readonly [string, string])[] }
  >();
  private readonly _max: number;

  constructor(max = 10_000) {
    this._max = max;
  }

  intern(
    key: string,
    labels: readonly (readonly [string, string])[],
  ): { key: string; labels: readonly (readonly [string, string])[] } {
    const known = this._groups.get(key);
    if (known) return known;
    const group = { key, labels };
    if (this._groups.size < this._max) this._groups.set(key, group);
    return group;
  }
}

/**
 * Groups an object's series by the labels named in `keep` (constant and `by` labels): one share
 * per group, in the order groups first appear.
 */
export function contribution(
  series: readonly { readonly labels: readonly (readonly [string, string])[]; readonly value: number }[],
  keep: ReadonlySet<string>,
  interner?: GroupInterner,
): AggregateContribution {
  const groups = new Map<string, Mutable<GroupShare>>();
  for (const s of series) {
    let labels: readonly (readonly [string, string])[] = s.labels.filter(([k]) => keep.has(k));
    let key = labelsKey(labels);
    let share = groups.get(key);
    if (!share) {
      if (interner) ({ key, labels } = interner.intern(key, labels));
      share = { key, labels, count: 0, sum: 0, nan: 0, posInf: 0, negInf: 0, min: Infinity, max: -Infinity };
      groups.set(key, share);
    }
    const v = s.value;
    share.count++;
    if (Number.isNaN(v)) share.nan++;
    else {
      if (v === Infinity) share.posInf++;
      else if (v === -Infinity) share.negInf++;
      else share.sum += v;
      if (v < share.min) share.min = v;
      if (v > share.max) share.max = v;
    }
  }
  return { shares: [...groups.values()] };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
