import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/runtime/Clock.ts';
import type { Clock } from '../../src/runtime/Clock.ts';
import { Slicer } from '../../src/runtime/Slicer.ts';

/** A clock whose monotonic time the test sets; turns run as real setImmediate turns. */
function clockAt(): Clock & { ms: number; reads: number } {
  const clock = {
    ...systemClock,
    ms: 0,
    reads: 0,
    monotonic: () => {
      clock.reads++;
      return clock.ms;
    },
  };
  return clock;
}

describe('Slicer', () => {
  it('is due once the slice has used its time, and a turn starts a new slice', async () => {
    const clock = clockAt();
    const slicer = new Slicer({ sliceMs: 10, clock });
    clock.ms = 9;
    assert.equal(slicer.due(), false);
    assert.equal(slicer.turn(), undefined, 'the hot path awaits nothing');
    clock.ms = 10;
    assert.equal(slicer.due(), true);
    let other = false;
    setImmediate(() => (other = true));
    await slicer.turn();
    assert.equal(other, true, 'other work ran in between');
    assert.equal(slicer.due(), false, 'a new slice started at the turn');
    assert.equal(slicer.longestSliceMs, 10);
  });

  it('reads the clock only every checkEvery calls', () => {
    const clock = clockAt();
    const slicer = new Slicer({ sliceMs: 0, clock, checkEvery: 100 });
    const before = clock.reads;
    let due = 0;
    for (let i = 0; i < 1280; i++) if (slicer.due()) due++;
    // 100 rounds up to 128: ten reads, each one due with a 0 ms slice.
    assert.equal(clock.reads - before, 10);
    assert.equal(due, 10);
  });

  it('time spent waiting between calls counts, so the first check after a pause yields', () => {
    const clock = clockAt();
    const slicer = new Slicer({ sliceMs: 10, clock });
    clock.ms = 1000;
    assert.equal(slicer.due(), true);
  });
});
