import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReturn } from '../../src/app/MemoryReturn.ts';

const MiB = 1024 * 1024;

function harness(minFreedBytes = 32 * MiB) {
  let bytes: number | undefined = 0;
  let collections = 0;
  const memory = new MemoryReturn({ seriesBytes: () => bytes, gc: () => void collections++, minFreedBytes });
  return {
    memory,
    set: (n: number | undefined) => (bytes = n),
    collections: () => collections,
  };
}

describe('MemoryReturn', () => {
  it('collects once the served bytes fall by the minimum and a quarter from their peak, then starts over', () => {
    const h = harness();
    h.set(200 * MiB);
    assert.equal(h.memory.check(), false, 'growing');
    h.set(170 * MiB);
    assert.equal(h.memory.check(), false, '30 MiB freed: under the minimum');
    h.set(140 * MiB);
    assert.equal(h.memory.check(), true, '60 MiB freed, more than a quarter');
    assert.equal(h.collections(), 1);
    h.set(115 * MiB);
    assert.equal(h.memory.check(), false, 'counted from 140 MiB now: 25 MiB freed');
    h.set(100 * MiB);
    assert.equal(h.memory.check(), true, '40 MiB from 140');
    assert.equal(h.collections(), 2);
  });

  it('a large store waits for a quarter of its peak, not only the minimum', () => {
    const h = harness();
    h.set(400 * MiB);
    h.memory.check();
    h.set(340 * MiB);
    assert.equal(h.memory.check(), false, '60 MiB freed of 400');
    h.set(290 * MiB);
    assert.equal(h.memory.check(), true, '110 MiB freed of 400');
    assert.equal(h.collections(), 1);
  });

  it('a small store never collects: the minimum is in bytes, not only a share', () => {
    const h = harness();
    h.set(20 * MiB);
    h.memory.check();
    h.set(0);
    assert.equal(h.memory.check(), false);
    assert.equal(h.collections(), 0);
  });

  it('nothing without an account (budgets off)', () => {
    const h = harness(1);
    h.set(undefined);
    assert.equal(h.memory.check(), false);
    assert.equal(h.collections(), 0);
  });
});
