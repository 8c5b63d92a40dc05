/**
 * Time and randomness as the reflector sees them, injected so that tests can drive backoff, watch
 * timeouts and idle detection deterministically (a fake clock) instead of waiting for real time.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** A number in [0, 1), for jitter and watch timeouts. */
  random(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A sleep that ends early (resolving false) when the signal aborts; it leaves no timer behind. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
