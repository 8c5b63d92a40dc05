import type { Attributes, Meter } from '@opentelemetry/api';

/**
 * A monotonic counter for hot paths, keyed by two attribute values: counts are plain numbers in
 * a map, and an observable counter reports them at each collection. A synchronous SDK Counter
 * hashes its attributes on every add (sorting keys, building a string), a visible share of an
 * initial sync's CPU at one or two adds per object event (docs/benchmarks.md, "Figures behind the
 * code"). Exposed the same way: a cumulative sum, `<name>_total` on the Prometheus endpoint.
 */
interface Tally {
  readonly attributes: Attributes;
  value: number;
}

export class CounterTally {
  /** Counts by first, then second value: nested maps, so an add builds no key string. */
  private readonly _counts = new Map<string, Map<string, Tally>>();
  private readonly _keys: readonly [string, string];

  /** `keys` name the two attributes, in the order `add` takes their values. */
  constructor(meter: Meter, name: string, description: string, keys: readonly [string, string]) {
    this._keys = keys;
    meter.createObservableCounter(name, { description }).addCallback((result) => {
      for (const bySecond of this._counts.values())
        for (const { attributes, value } of bySecond.values()) result.observe(value, attributes);
    });
  }

  /** Makes the series exist at 0 if it does not yet (a known label combination, as client_golang users do). */
  zero(first: string, second: string): void {
    let bySecond = this._counts.get(first);
    if (!bySecond) this._counts.set(first, (bySecond = new Map<string, Tally>()));
    if (!bySecond.has(second))
      bySecond.set(second, { attributes: { [this._keys[0]]: first, [this._keys[1]]: second }, value: 0 });
  }

  add(first: string, second: string): void {
    let bySecond = this._counts.get(first);
    if (!bySecond) this._counts.set(first, (bySecond = new Map<string, Tally>()));
    const entry = bySecond.get(second);
    if (entry) entry.value++;
    else bySecond.set(second, { attributes: { [this._keys[0]]: first, [this._keys[1]]: second }, value: 1 });
  }
}
