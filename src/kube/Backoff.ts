/**
 * client-go's reflector backoff: 800 ms doubling to a cap, with jitter in [1, 2), reset after a
 * period of health. Never gives up.
 */
export class Backoff {
  private readonly _initialMs: number;
  private readonly _capMs: number;
  private readonly _resetAfterMs: number;
  private _attempt = 0;
  private _lastFailure = 0;

  constructor(options: { initialMs?: number; capMs?: number; resetAfterMs?: number } = {}) {
    this._initialMs = options.initialMs ?? 800;
    this._capMs = options.capMs ?? 30_000;
    this._resetAfterMs = options.resetAfterMs ?? 120_000;
  }

  /** The delay before the next attempt; `minMs` honours a server's Retry-After. */
  next(now = Date.now(), minMs = 0, capMs = this._capMs): number {
    if (now - this._lastFailure > this._resetAfterMs) this._attempt = 0;
    this._lastFailure = now;
    const base = Math.min(this._initialMs * 2 ** this._attempt, capMs);
    this._attempt++;
    return Math.max(minMs, Math.min(base * (1 + Math.random()), capMs * 2));
  }

  reset(): void {
    this._attempt = 0;
  }
}

/** A sleep that ends early (resolving false) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
