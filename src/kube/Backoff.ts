import { systemClock } from '../runtime/Clock.ts';
import type { Clock } from '../runtime/Clock.ts';

/**
 * client-go's reflector backoff: 800 ms doubling to a cap, with jitter in [1, 2), reset after a
 * period of health. Never gives up.
 */
export class Backoff {
  private readonly _initialMs: number;
  private readonly _capMs: number;
  private readonly _resetAfterMs: number;
  private readonly _clock: Clock;
  private _attempt = 0;
  private _lastFailure = 0;

  constructor(
    options: {
      /** @default 800 */
      initialMs?: number;
      /** @default 30000 */
      capMs?: number;
      /** Failures further apart than this start again from `initialMs`. @default 120000 */
      resetAfterMs?: number;
      /** @default the system clock */
      clock?: Clock;
    } = {},
  ) {
    this._initialMs = options.initialMs ?? 800;
    this._capMs = options.capMs ?? 30_000;
    this._resetAfterMs = options.resetAfterMs ?? 120_000;
    this._clock = options.clock ?? systemClock;
  }

  /** The delay before the next attempt; `minMs` honours a server's Retry-After. */
  next(minMs = 0, capMs = this._capMs): number {
    const now = this._clock.now();
    if (now - this._lastFailure > this._resetAfterMs) this._attempt = 0;
    this._lastFailure = now;
    const base = Math.min(this._initialMs * 2 ** this._attempt, capMs);
    this._attempt++;
    return Math.max(minMs, Math.min(base * (1 + this._clock.random()), capMs * 2));
  }

  reset(): void {
    this._attempt = 0;
  }
}
