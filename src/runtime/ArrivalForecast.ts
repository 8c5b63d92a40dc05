export interface ArrivalForecastOptions {
  /** Requesters remembered; the one heard from longest ago is forgotten first. @default 16 */
  readonly maxRequesters?: number;
  /** Intervals longer than this are not taken for a period. @default 600_000 (10 min) */
  readonly maxIntervalMs?: number;
  /**
   * Intervals shorter than this are not taken for a period: a client asking again as soon as it
   * has its answer, not a scraper, and work done ahead of it would only compete with it.
   * @default 250
   */
  readonly minIntervalMs?: number;
  /**
   * Predicted arrivals a requester may miss before it is taken for gone (it is predicted again
   * once it comes back). @default 2
   */
  readonly maxMissed?: number;
}

interface Requester {
  last: number;
  interval: number | undefined;
}

/**
 * Predicts when periodic requesters come next: each is expected one interval (the time between
 * its last two arrivals) after its last arrival. Prometheus and the Collector's prometheus
 * receiver scrape at a fixed interval, so the prediction holds as long as they do.
 */
export class ArrivalForecast {
  private readonly _requesters = new Map<string, Requester>();
  private readonly _maxRequesters: number;
  private readonly _maxIntervalMs: number;
  private readonly _minIntervalMs: number;
  private readonly _maxMissed: number;

  constructor(options: ArrivalForecastOptions = {}) {
    this._maxRequesters = options.maxRequesters ?? 16;
    this._maxIntervalMs = options.maxIntervalMs ?? 600_000;
    this._minIntervalMs = options.minIntervalMs ?? 250;
    this._maxMissed = options.maxMissed ?? 2;
  }

  /** Records an arrival of `requester` at `at` (epoch ms). */
  arrived(requester: string, at: number): void {
    const known = this._requesters.get(requester);
    this._requesters.delete(requester); // re-inserted last: the Map's order is recency
    const interval = known === undefined ? undefined : at - known.last;
    this._requesters.set(requester, {
      last: at,
      interval:
        interval !== undefined && interval >= this._minIntervalMs && interval <= this._maxIntervalMs
          ? interval
          : undefined,
    });
    if (this._requesters.size > this._maxRequesters)
      this._requesters.delete(this._requesters.keys().next().value!);
  }

  /**
   * The earliest arrival predicted after `after` (epoch ms), or undefined when no requester has
   * come twice or all of them have missed more than `maxMissed` predicted arrivals.
   */
  next(after: number): number | undefined {
    let earliest: number | undefined;
    for (const { last, interval } of this._requesters.values()) {
      if (interval === undefined) continue;
      // The first predicted arrival after `after`, counting the ones missed since the last.
      const periods = Math.max(1, Math.floor((after - last) / interval) + 1);
      if (periods > this._maxMissed + 1) continue;
      const predicted = last + periods * interval;
      if (earliest === undefined || predicted < earliest) earliest = predicted;
    }
    return earliest;
  }
}
