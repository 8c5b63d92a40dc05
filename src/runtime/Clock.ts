/**
 * Time, randomness and turns of the event loop as the bridge's loops see them, injected so that
 * tests can drive backoff, watch timeouts, idle detection and time slicing deterministically (a
 * fake clock) instead of waiting for real time.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Milliseconds on a monotonic clock, for how long work took (slicing). */
  monotonic(): number;
  /** A number in [0, 1), for jitter and watch timeouts. */
  random(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `callback` in a later turn of the event loop, after pending I/O and timers. */
  setImmediate(callback: () => void): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  random: () => Math.random(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (callback) => void setImmediate(callback),
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
