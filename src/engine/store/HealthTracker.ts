import { renderBlock } from '../../exposition/SeriesBlock.ts';
import type { SeriesBlock } from '../../exposition/SeriesBlock.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import type { HealthObservation, HealthState } from '../generate/HealthJudge.ts';

/** What the tracker reports as it sees objects change health (counted by the caller, e.g. OTel counters). */
export interface HealthEvents {
  /** An object went from one state to another (not during a listing). */
  transition(
    family: FamilyMeta,
    labels: readonly (readonly [string, string])[],
    from: HealthState,
    to: HealthState,
  ): void;
  /** An object became healthy for the first time, `seconds` after it was created. */
  timeToHealthy(family: FamilyMeta, labels: readonly (readonly [string, string])[], seconds: number): void;
}

interface Remembered {
  readonly state: HealthState;
  /** When the object entered `state` (epoch seconds). */
  readonly enteredAt: number;
  readonly everHealthy: boolean;
  readonly block: SeriesBlock;
}

/**
 * The health history of each object of one health family: the state it was last seen in, since
 * when, and whether it was ever healthy. From it, the per-object series
 * `<prefix>_health_last_transition_timestamp_seconds` (the deciding condition's
 * lastTransitionTime when there is one, else when the state was first seen) and the events the
 * transition counter and the time-to-healthy histogram count. A listing (the first list, a relist
 * after 410) updates states without reporting transitions: only a change seen in a watch event
 * is one. An object first seen healthy is not timed.
 */
export class HealthTracker {
  private readonly _family: FamilyMeta;
  private readonly _events: HealthEvents | undefined;
  private readonly _now: () => number;
  private readonly _objects = new Map<string, Remembered>();

  /** `now`: epoch seconds; whole seconds by default, as lastTransitionTime has them. */
  constructor(
    family: FamilyMeta,
    events?: HealthEvents,
    now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this._family = family;
    this._events = events;
    this._now = now;
  }

  get size(): number {
    return this._objects.size;
  }

  blocks(): Iterable<SeriesBlock> {
    return [...this._objects.values()].map((o) => o.block);
  }

  /** An object's new observation (undefined: it is gone). `counting`: a watch event, not a listing. */
  update(key: string, next: HealthObservation | undefined, counting: boolean): void {
    const before = this._objects.get(key);
    if (!next) {
      this._objects.delete(key);
      return;
    }
    const now = this._now();
    const changed = before !== undefined && before.state !== next.state;
    const enteredAt = next.since ?? (before && !changed ? before.enteredAt : now);
    const becameHealthy = next.state === 'healthy' && before !== undefined && !before.everHealthy;
    if (counting && changed)
      this._events?.transition(this._family, next.counterLabels, before.state, next.state);
    if (counting && becameHealthy && changed && next.createdAt !== undefined)
      this._events?.timeToHealthy(this._family, next.counterLabels, Math.max(0, now - next.createdAt));
    const block =
      before && before.enteredAt === enteredAt && sameLabels(before, next)
        ? before.block
        : renderBlock(this._family.name, [{ labels: next.labels, value: enteredAt }]);
    this._objects.set(key, {
      state: next.state,
      enteredAt,
      everHealthy: (before?.everHealthy ?? false) || next.state === 'healthy',
      block,
    });
  }
}

function sameLabels(before: Remembered, next: HealthObservation): boolean {
  const a = before.block.points[0]?.attributes;
  if (!a) return false;
  let n = 0;
  for (const [k, v] of next.labels) {
    if (a[k] !== v) return false;
    n++;
  }
  return n === Object.keys(a).length;
}
