import type { Logger } from 'pino';

export interface MemoryReturnOptions {
  /** Bytes of sample lines served now (the budgets' account); undefined when not counted. */
  readonly seriesBytes: () => number | undefined;
  /** A full garbage collection (`globalThis.gc`, present with `--expose-gc`). */
  readonly gc: () => void;
  readonly logger?: Logger;
  /** How often the account is looked at. @default 15000 */
  readonly intervalMs?: number;
  /** Freed bytes, from the highest account since the last collection, that call for one. @default 33554432 (32 MiB) */
  readonly minFreedBytes?: number;
}

/**
 * Returns memory after many series go (a tenant's flood deleted, a namespace dropped): V8 frees
 * the old generation only at its next major collection, which a process that then mostly serves
 * scrapes (young-generation garbage) may not reach for a long time, so RSS would stay at its peak.
 * When the served bytes have fallen by at least `minFreedBytes` and a quarter from their highest
 * since the last collection, this asks for one. Only with `--expose-gc`, which deploy/ and the
 * chart set; a looked-at account costs nothing.
 */
export class MemoryReturn {
  private readonly _o: MemoryReturnOptions;
  private _peak = 0;
  private _timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryReturnOptions) {
    this._o = options;
  }

  start(): void {
    this._timer ??= setInterval(() => this.check(), this._o.intervalMs ?? 15_000);
    this._timer.unref();
  }

  stop(): void {
    clearInterval(this._timer);
    this._timer = undefined;
  }

  /** Looks at the account once; collects when enough has been freed. Returns whether it did. */
  check(): boolean {
    const now = this._o.seriesBytes();
    if (now === undefined) return false;
    if (now > this._peak) this._peak = now;
    const freed = this._peak - now;
    if (freed < (this._o.minFreedBytes ?? 32 * 1024 * 1024) || freed < this._peak / 4) return false;
    const began = performance.now();
    this._o.gc();
    this._o.logger?.info(
      { freedSeriesBytes: freed, gcMs: Math.round(performance.now() - began) },
      'many series went: full garbage collection to return their memory',
    );
    this._peak = now;
    return true;
  }
}
