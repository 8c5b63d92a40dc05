/** A check refused at once because too many are pending (the caller answers 429). */
export class ChecksBusyError extends Error {
  constructor(message = 'too many authentication checks pending') {
    super(message);
    this.name = 'ChecksBusyError';
  }
}

export interface BoundedChecksOptions {
  /** Checks pending (queued or running) at most; more are refused at once. */
  readonly maxPending: number;
  /**
   * Checks one client (remote address) may have pending at most, so a single flooding client
   * cannot take every slot from the others. @default maxPending
   */
  readonly maxPendingPerClient?: number;
  /** Checks started per second at most (a token bucket of `burst`); unset: no rate limit. */
  readonly ratePerSecond?: number;
  /** @default ratePerSecond */
  readonly burst?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * Runs expensive checks (bcrypt, TokenReview) with bounds on how many are pending, overall and
 * per client, and on how many start per second, and one check per key in flight: a second
 * request with the same credentials waits for the first one's answer instead of starting another
 * check, and does not count against the bounds (it adds no work). Over a bound, `run` rejects at
 * once with ChecksBusyError.
 *
 * A `trusted` check (credentials that passed recently) skips the bounds: a flood of strangers
 * must not lock out a scraper whose cached verdict has just expired. Their number is bounded by
 * the caller's cache of recent successes.
 */
export class BoundedChecks<T> {
  private readonly _maxPending: number;
  private readonly _maxPerClient: number;
  private readonly _rate: number | undefined;
  private readonly _burst: number;
  private readonly _now: () => number;
  private readonly _inFlight = new Map<string, Promise<T>>();
  private readonly _perClient = new Map<string, number>();
  private _pending = 0;
  private _tokens: number;
  private _refilledAt: number;

  constructor(options: BoundedChecksOptions) {
    this._maxPending = options.maxPending;
    this._maxPerClient = options.maxPendingPerClient ?? options.maxPending;
    this._rate = options.ratePerSecond;
    this._burst = options.burst ?? options.ratePerSecond ?? 0;
    this._now = options.now ?? Date.now;
    this._tokens = this._burst;
    this._refilledAt = this._now();
  }

  /** Untrusted checks started and not finished (joined duplicates not counted). */
  get pending(): number {
    return this._pending;
  }

  run(key: string, client: string, task: () => Promise<T>, trusted = false): Promise<T> {
    const joined = this._inFlight.get(key);
    if (joined) return joined;
    if (trusted) return this._track(key, task, () => undefined);
    const ofClient = this._perClient.get(client) ?? 0;
    if (this._pending >= this._maxPending || ofClient >= this._maxPerClient || !this._takeToken())
      return Promise.reject(new ChecksBusyError());
    this._pending++;
    this._perClient.set(client, ofClient + 1);
    return this._track(key, task, () => {
      this._pending--;
      const left = (this._perClient.get(client) ?? 1) - 1;
      if (left > 0) this._perClient.set(client, left);
      else this._perClient.delete(client);
    });
  }

  private _track(key: string, task: () => Promise<T>, release: () => void): Promise<T> {
    // An async wrapper turns a synchronous throw into a rejection, so `release` always runs.
    const running = (async () => task())().finally(() => {
      release();
      this._inFlight.delete(key);
    });
    this._inFlight.set(key, running);
    return running;
  }

  private _takeToken(): boolean {
    if (this._rate === undefined) return true;
    const now = this._now();
    this._tokens = Math.min(this._burst, this._tokens + ((now - this._refilledAt) / 1000) * this._rate);
    this._refilledAt = now;
    if (this._tokens < 1) return false;
    this._tokens -= 1;
    return true;
  }
}

/**
 * Verdicts remembered for a while: at most `size` entries, the least recently used dropped first,
 * each until its own expiry. Keep separate caches for verdicts that different parties can create
 * (successes, failures): a flood of failures then cannot push out the successes.
 */
export class VerdictCache<V> {
  private readonly _entries = new Map<string, { value: V; until: number }>();
  private readonly _size: number;
  private readonly _now: () => number;

  constructor(size: number, now: () => number = Date.now) {
    this._size = size;
    this._now = now;
  }

  get size(): number {
    return this._entries.size;
  }

  get(key: string): V | undefined {
    const entry = this._entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this._now()) {
      this._entries.delete(key);
      return undefined;
    }
    // Maps iterate in insertion order: re-inserting makes this the most recently used.
    this._entries.delete(key);
    this._entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this._entries.delete(key);
    this._entries.set(key, { value, until: this._now() + ttlMs });
    while (this._entries.size > this._size) this._entries.delete(this._entries.keys().next().value as string);
  }
}
