import { systemClock } from './Clock.ts';
import type { Clock } from './Clock.ts';

export interface SlicerOptions {
  /** Longest stretch of work between two turns of the event loop, in ms; 0 yields at every check. @default 10 */
  readonly sliceMs?: number;
  /**
   * Read the clock only on every n-th `due()` call, for loops whose items take far less than a
   * clock read would matter (a scrape's pieces, OTLP points). @default 1
   */
  readonly checkEvery?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * Splits long work into slices so that timers, I/O, probes and scrapes get the event loop in
 * between. A loop that works through a backlog with `for await` (a buffered watch stream, a list
 * page, a file's objects) only yields to microtasks, so without this it would hold everything
 * else until the backlog is done. Time spent waiting between calls counts too: after a pause (a
 * watch between events) the first check yields at once, one extra turn per burst.
 *
 * Also measures the longest slice, in wall time and in this thread's CPU time (what the slice
 * would take on an idle machine).
 */
export class Slicer {
  private readonly _sliceMs: number;
  private readonly _mask: number;
  private readonly _clock: Clock;
  private _sliceStart: number;
  private _sliceCpu = -1;
  private _count = 0;
  /** Longest stretch between two turns, in ms of wall time (measured by `end`). */
  longestSliceMs = 0;
  /** Longest stretch between two turns, in ms of this thread's CPU time (measured by `end`). */
  longestSliceCpuMs = 0;

  constructor(options: SlicerOptions = {}) {
    this._sliceMs = options.sliceMs ?? 10;
    // A power of two, so the check is a mask.
    this._mask = 2 ** Math.ceil(Math.log2(Math.max(1, options.checkEvery ?? 1))) - 1;
    this._clock = options.clock ?? systemClock;
    this._sliceStart = this._clock.monotonic();
  }

  /** Whether the current slice has used its time. */
  due(): boolean {
    if ((++this._count & this._mask) !== 0) return false;
    return this._clock.monotonic() - this._sliceStart >= this._sliceMs;
  }

  /**
   * A promise to await when the current slice is spent (it resolves in a later turn of the event
   * loop, where the next slice starts), else undefined: the hot path awaits nothing.
   */
  turn(): Promise<void> | undefined {
    return this.due() ? this.pause() : undefined;
  }

  /** Gives the event loop a turn, then starts a new slice. */
  pause(): Promise<void> {
    this.end();
    return new Promise<void>((resolve) =>
      this._clock.setImmediate(() => {
        this.resume();
        resolve();
      }),
    );
  }

  /** Ends the current slice's measurement (call before awaiting something else). */
  end(): void {
    const wall = this._clock.monotonic() - this._sliceStart;
    if (wall > this.longestSliceMs) this.longestSliceMs = wall;
    if (this._sliceCpu >= 0) {
      const cpu = threadCpuMs() - this._sliceCpu;
      if (cpu > this.longestSliceCpuMs) this.longestSliceCpuMs = cpu;
    }
  }

  /** Starts a new slice now (after awaiting something else, e.g. a request). */
  resume(): void {
    this._sliceStart = this._clock.monotonic();
    if (this._sliceCpu >= 0) this._sliceCpu = threadCpuMs();
  }

  /** Measure CPU time per slice from now on (a syscall per slice; off unless asked for). */
  measureCpu(): this {
    this._sliceCpu = threadCpuMs();
    return this;
  }
}

function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}
