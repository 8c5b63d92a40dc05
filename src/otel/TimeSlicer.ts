import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Splits a long loop into slices of about `sliceMs`, so requests and watch events are served in
 * between: call `due()` per item (cheap: the clock is read every 128 calls) and `await pause()`
 * when it says so.
 */
export class TimeSlicer {
  private readonly _sliceMs: number;
  private _sliceStart = performance.now();
  private _count = 0;
  /** Longest stretch between two pauses so far, in ms (for benchmarks and tests). */
  longestSliceMs = 0;

  /** @param sliceMs Work done before giving the event loop a turn. @default 10 */
  constructor(sliceMs = 10) {
    this._sliceMs = sliceMs;
  }

  due(): boolean {
    if ((++this._count & 127) !== 0) return false;
    return performance.now() - this._sliceStart > this._sliceMs;
  }

  async pause(): Promise<void> {
    this._note();
    await yieldToEventLoop();
    this._sliceStart = performance.now();
  }

  /** Ends the measurement of the current slice (call when the loop is done). */
  end(): void {
    this._note();
  }

  private _note(): void {
    const took = performance.now() - this._sliceStart;
    if (took > this.longestSliceMs) this.longestSliceMs = took;
  }
}
