/**
 * Gives the event loop a turn once `sliceMs` have passed since the last one. A loop that
 * works through a backlog with `for await` (a streaming list whose events are already buffered, a
 * page of a list, a file's documents and objects) only ever yields to microtasks, so timers, I/O
 * and scrapes would wait for the whole backlog: in a 20k-object first sync, /healthz waited up to
 * 0.5 s and a scrape as long.
 */
export class LoopSlicer {
  private readonly _sliceMs: number;
  private _sliceStart = performance.now();

  /** @param sliceMs the longest stretch between turns, in ms; 0 yields every time. */
  constructor(sliceMs: number) {
    this._sliceMs = sliceMs;
  }

  /**
   * A promise to await when the current slice is spent (it resolves in a later turn of the event
   * loop, where the next slice starts), else undefined: the hot path awaits nothing. Time spent
   * waiting between calls counts too, so after a pause (a watch between events) the first call
   * yields at once: one extra turn per burst, which costs microseconds.
   */
  turn(): Promise<void> | undefined {
    if (performance.now() - this._sliceStart < this._sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this._sliceStart = performance.now();
        resolve();
      }),
    );
  }
}
