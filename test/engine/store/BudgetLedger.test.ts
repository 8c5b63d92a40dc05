import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUDGET_HEAP_SHARE,
  SERIES_SHARE,
  budgetDefaults,
  HEAP_BYTES_PER_SERIES,
  HEAP_BYTES_PER_TEXT_BYTE,
} from '../../../src/engine/limits.ts';
import type { Budgets } from '../../../src/engine/limits.ts';
import { BudgetLedger } from '../../../src/engine/store/BudgetLedger.ts';

const UNLIMITED: Budgets = {
  totalSeries: 0,
  totalSeriesBytes: 0,
  namespaceSeries: 0,
  namespaceSeriesBytes: 0,
};
const age = (createdMs: number, name = `o${createdMs}`) => ({ createdMs, name });
const cost = (series: number, bytes = series * 10) => ({ series, bytes });

describe('BudgetLedger', () => {
  it('admits up to a namespace budget, exactly, and refuses the next with the budget that is full', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 10 });
    assert.deepEqual(l.admit('a', 'r', 'ns', age(1), cost(6)), { admitted: true, evicted: [] });
    assert.deepEqual(l.admit('b', 'r', 'ns', age(2), cost(4)), { admitted: true, evicted: [] });
    assert.deepEqual(l.admit('c', 'r', 'ns', age(3), cost(1)), { admitted: false, limit: 'namespaceSeries' });
    // Another namespace has its own budget.
    assert.equal(l.admit('d', 'r', 'other', age(4), cost(10)).admitted, true);
    assert.equal(l.series, 20);
    assert.deepEqual(l.namespaceUse('ns'), { series: 10, bytes: 100 });
    assert.equal(l.droppedCount, 1);
  });

  it('an older object takes the place of the newest objects of its namespace, never of another namespace', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 10, totalSeries: 15 });
    l.admit('other', 'r', 'b', age(0), cost(5));
    l.admit('n1', 'r', 'a', age(10), cost(4));
    l.admit('n2', 'r', 'a', age(20), cost(3));
    l.admit('n3', 'r', 'a', age(30), cost(3));
    // Older than n2 and n3: evicts the newest (n3) first, then n2, until it fits.
    const a = l.admit('old', 'r', 'a', age(5), cost(5));
    assert.equal(a.admitted, true);
    assert.deepEqual(a.admitted ? a.evicted.map((e) => [e.key, e.droppedBy]) : [], [
      ['n3', 'namespaceSeries'],
      ['n2', 'namespaceSeries'],
    ]);
    assert.deepEqual(l.namespaceUse('a'), { series: 9, bytes: 90 });
    assert.deepEqual(l.namespaceUse('b'), { series: 5, bytes: 50 });
    // Newer than everything admitted in `a`: refused, nothing evicted.
    assert.deepEqual(l.admit('new', 'r', 'a', age(40), cost(2)), {
      admitted: false,
      limit: 'namespaceSeries',
    });
    // Older than n1 (the newest admitted in `a` now): n1 gives way.
    const t = l.admit('older', 'r', 'a', age(1), cost(2));
    assert.deepEqual(t.admitted ? t.evicted.map((e) => e.key) : t, ['n1']);
    assert.deepEqual(l.namespaceUse('b'), { series: 5, bytes: 50 });
    assert.equal(l.series, 12);
  });

  it("when the process budget is full, evicts only newer objects of the newcomer's namespace", () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 10, totalSeries: 12 });
    l.admit('b1', 'r', 'b', age(0), cost(8));
    l.admit('a1', 'r', 'a', age(10), cost(4));
    const x = l.admit('x', 'r', 'a', age(5), cost(2));
    assert.deepEqual(x.admitted ? x.evicted.map((e) => [e.key, e.droppedBy]) : x, [['a1', 'totalSeries']]);
    assert.equal(l.admit('y', 'r', 'c', age(0), cost(1)).admitted, true);
    // `c` has nothing newer to give: the newcomer is refused, `b` keeps everything.
    assert.deepEqual(l.admit('z', 'r', 'c', age(0, 'z'), cost(2)), { admitted: false, limit: 'totalSeries' });
    assert.deepEqual(l.namespaceUse('b'), { series: 8, bytes: 80 });
    assert.equal(l.series, 11);
  });

  it('refuses without evicting when evicting every newer object would not be enough', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 10 });
    l.admit('x', 'r', 'ns', age(1), cost(6));
    l.admit('y', 'r', 'ns', age(9), cost(2));
    assert.deepEqual(l.admit('z', 'r', 'ns', age(5), cost(5)), { admitted: false, limit: 'namespaceSeries' });
    assert.deepEqual(l.namespaceUse('ns'), { series: 8, bytes: 80 });
    assert.equal(l.entry('y')?.droppedBy, undefined);
    // Larger than the budget on its own: refused at once.
    assert.deepEqual(l.admit('huge', 'r', 'ns', age(0), cost(11)), {
      admitted: false,
      limit: 'namespaceSeries',
    });
    assert.equal(l.entry('x')?.droppedBy, undefined);
  });

  it('orders by creation time, then name; objects without a creation time count as the oldest', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 2 });
    l.admit('b', 'r', 'ns', age(100, 'b'), cost(1));
    l.admit('c', 'r', 'ns', age(100, 'c'), cost(1));
    const a = l.admit('a', 'r', 'ns', age(100, 'a'), cost(1));
    assert.deepEqual(a.admitted ? a.evicted.map((e) => e.key) : a, ['c']);
    const none = l.admit('none', 'r', 'ns', age(-Infinity, 'zzz'), cost(1));
    assert.deepEqual(none.admitted ? none.evicted.map((e) => e.key) : none, ['b']);
  });

  it('checks bytes as well as series, in the namespace and in total', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeriesBytes: 100, totalSeriesBytes: 150 });
    assert.equal(l.admit('a', 'r', 'x', age(1), cost(1, 100)).admitted, true);
    assert.deepEqual(l.admit('b', 'r', 'x', age(2), cost(1, 1)), {
      admitted: false,
      limit: 'namespaceSeriesBytes',
    });
    assert.deepEqual(l.admit('c', 'r', 'y', age(3), cost(1, 51)), {
      admitted: false,
      limit: 'totalSeriesBytes',
    });
    assert.equal(l.admit('d', 'r', 'y', age(4), cost(1, 50)).admitted, true);
    assert.equal(l.bytes, 150);
  });

  it('keeps exact totals through replacement, shrinking, growing and removal', () => {
    const l = new BudgetLedger({ ...UNLIMITED, totalSeries: 100, namespaceSeries: 60 });
    l.admit('a', 'r', 'ns', age(1), cost(30));
    l.admit('a', 'r', 'ns', age(1), cost(10)); // shrinks
    l.admit('b', 'r', 'ns', age(2), cost(50));
    assert.deepEqual(l.admit('a', 'r', 'ns', age(1), cost(20)).admitted, true); // grows: evicts b
    assert.equal(l.entry('b')?.droppedBy, 'namespaceSeries');
    assert.equal(l.series, 20);
    l.remove('b');
    l.remove('a');
    l.remove('missing');
    assert.equal(l.series, 0);
    assert.equal(l.bytes, 0);
    assert.equal(l.droppedCount, 0);
    assert.deepEqual(l.use().dropped, new Map());
  });

  it('lists the dropped objects that would fit again, oldest first, without their content', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 10 });
    l.admit('a', 'r', 'ns', age(1), cost(8));
    l.admit('b', 'r', 'ns', age(2), cost(4));
    l.admit('c', 'r', 'ns', age(3), cost(5));
    l.admit('d', 'r', 'ns', age(4), cost(1));
    assert.deepEqual(
      l.readmissible().map((e) => e.key),
      [],
    );
    l.remove('a');
    // b (4) and c (5) fit together in 10 with d (1) already in: both, oldest first.
    assert.deepEqual(
      l.readmissible().map((e) => e.key),
      ['b', 'c'],
    );
    assert.deepEqual(
      l.readmissible(1).map((e) => e.key),
      ['b'],
    );
    assert.deepEqual([...l.use().dropped.get('ns')!], [['namespaceSeries', 2]]);
  });

  it('stays exact and fast over many objects with evictions (the heap of newest objects)', () => {
    const l = new BudgetLedger({ ...UNLIMITED, namespaceSeries: 1_000 });
    const n = 20_000;
    // Arrival order is not age order (a list comes by name): every object has a pseudo-random age.
    const ages = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    for (let i = 0; i < n; i++) l.admit(`k${i}`, 'r', 'ns', age(ages[i]!), cost(1));
    // Whatever the arrival order, the namespace keeps exactly its 1,000 oldest objects.
    const admitted = ages
      .map((a, i) => [a, i] as const)
      .filter(([, i]) => l.entry(`k${i}`)?.droppedBy === undefined);
    assert.equal(admitted.length, 1_000);
    assert.deepEqual(
      admitted.map(([a]) => a).sort((x, y) => x - y),
      Array.from({ length: 1_000 }, (_, i) => i),
    );
    assert.equal(l.series, 1_000);
    for (let i = 0; i < n; i++) l.remove(`k${i}`);
    assert.equal(l.series, 0);
    assert.equal(l.droppedCount, 0);
  });

  it('derives the defaults from the heap limit, half of each for one namespace', () => {
    // deploy/'s cap fits docs/kubernetes.md's 400k series; 768 MiB its 1M series and 214 MiB scrape.
    assert.ok(budgetDefaults(408 * 2 ** 20).totalSeries >= 400_000);
    const m768 = budgetDefaults(792 * 2 ** 20);
    assert.ok(m768.totalSeries >= 1_000_000 && m768.totalSeriesBytes >= 214.4 * 2 ** 20);
    const small = budgetDefaults(408 * 2 ** 20);
    const large = budgetDefaults(816 * 2 ** 20);
    assert.ok(small.totalSeries > 0 && small.totalSeriesBytes > 0);
    assert.equal(
      large.totalSeries,
      Math.floor((816 * 2 ** 20 * BUDGET_HEAP_SHARE * SERIES_SHARE) / HEAP_BYTES_PER_SERIES),
    );
    assert.equal(
      large.totalSeriesBytes,
      Math.floor((816 * 2 ** 20 * BUDGET_HEAP_SHARE * (1 - SERIES_SHARE)) / HEAP_BYTES_PER_TEXT_BYTE),
    );
    // The series and the bytes at their budgets together take the heap share, no more.
    const heap =
      small.totalSeries * HEAP_BYTES_PER_SERIES + small.totalSeriesBytes * HEAP_BYTES_PER_TEXT_BYTE;
    assert.ok(heap <= 408 * 2 ** 20 * BUDGET_HEAP_SHARE && heap > 408 * 2 ** 20 * BUDGET_HEAP_SHARE * 0.99);
    assert.equal(small.namespaceSeries, Math.floor(small.totalSeries / 2));
    assert.equal(small.namespaceSeriesBytes, Math.floor(small.totalSeriesBytes / 2));
  });
});
