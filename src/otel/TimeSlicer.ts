import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Splits a long loop into slices of about `sliceMs`, so requests and watch events are served in
 * between: call `due()` per item (cheap: the clock is read every 128 calls) and `await pause()`
 * when it says so. Also measures the longest slice, in wall time and in this thread's CPU time
 * (what the slice would take on an idle machine; wall time also counts time the OS gave to other
 * processes).
 */
export class TimeSlicer {
  private readonly _sliceMs: number;
  private _sliceStart = performance.now();
  private _sliceCpu = threadCpuMs();
  private _count = 0;
  /** Longest stretch between two pauses, in ms of wall time. */
  longestSliceMs = 0;
  /** Longest stretch between two pauses, in ms of main-thread CPU time. */
  longestSliceCpuMs = 0;

  /** @param sliceMs Work done before giving the event loop a turn. @default 10 */
  constructor(sliceMs = 10) {
    this._sliceMs = sliceMs;
  }

  due(): boolean {
    if ((++this._count & 127) !== 0) return false;
    return performance.now() - this._sliceStart > this._sliceMs;
  }

  async pause(): Promise<void> {
    this.end();
    await yieldToEventLoop();
    this.resume();
  }

  /** Ends the measurement of the current slice (call before awaiting something else). */
  end(): void {
    const wall = performance.now() - this._sliceStart;
    const cpu = threadCpuMs() - this._sliceCpu;
    if (wall > this.longestSliceMs) this.longestSliceMs = wall;
    if (cpu > this.longestSliceCpuMs) this.longestSliceCpuMs = cpu;
  }

  /** Starts a new slice (call after awaiting something else, e.g. a request). */
  resume(): void {
    this._sliceStart = performance.now();
    this._sliceCpu = threadCpuMs();
  }
}

function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}
