import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contribution } from '../../../src/engine/generate/AggregateContribution.ts';
import type { AggregateContribution } from '../../../src/engine/generate/AggregateContribution.ts';
import { AggregateTable, OVERFLOW_LABEL } from '../../../src/engine/store/AggregateTable.ts';
import { CountedHeap } from '../../../src/engine/store/CountedHeap.ts';
import type { AggregateFunction, FamilyMeta } from '../../../src/model/FamilyMeta.ts';

function family(fn: AggregateFunction, maxGroups = 0, keepEmptyGroups = false): FamilyMeta {
  return {
    index: 0,
    name: 'agg',
    type: 'gauge',
    help: '',
    aggregate: { function: fn, by: ['phase'], keepEmptyGroups, maxGroups },
  };
}

/** The served series as `labels value` lines, sorted. */
function served(table: AggregateTable): string[] {
  const lines: string[] = [];
  for (const block of table.blocks()) lines.push(...block.text.split('\n').filter((l) => l !== ''));
  return lines.map((l) => l.replace(/^agg/, '')).sort();
}

/** An object's series: (phase, value) pairs, with a constant label `c`. */
function object(series: readonly (readonly [string, number])[]): AggregateContribution {
  return contribution(
    series.map(([phase, value]) => ({
      labels: [
        ['c', 'x'],
        ['name', 'o'],
        ['phase', phase],
      ] as [string, string][],
      value,
    })),
    new Set(['c', 'phase']),
  );
}

/** What PromQL's `fn by (c, phase)` gives over the same series. */
function expected(
  fn: AggregateFunction,
  objects: Iterable<readonly (readonly [string, number])[]>,
): string[] {
  const groups = new Map<string, number[]>();
  for (const series of objects)
    for (const [phase, v] of series) groups.set(phase, [...(groups.get(phase) ?? []), v]);
  const lines: string[] = [];
  for (const [phase, values] of groups) {
    let value: number;
    const real = values.filter((v) => !Number.isNaN(v));
    if (fn === 'count') value = values.length;
    else if (fn === 'sum') value = values.reduce((a, b) => a + b, 0);
    else if (real.length === 0) value = NaN;
    else value = fn === 'min' ? Math.min(...real) : Math.max(...real);
    lines.push(`{c="x",phase="${phase}"} ${format(value)}`);
  }
  return lines.sort();
}

function format(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const value = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) },
);
const series = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), value), { maxLength: 4 });
const op = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.option(series, { nil: undefined }));

describe('AggregateTable', () => {
  for (const fn of ['count', 'sum', 'min', 'max'] as const)
    it(`${fn}: after any upserts and deletes, equals ${fn} by the groups over the objects present`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
          const table = new AggregateTable(family(fn));
          const present = new Map<
            number,
            { series: readonly (readonly [string, number])[]; c: AggregateContribution }
          >();
          for (const [key, next] of ops) {
            const before = present.get(key);
            const c = next === undefined ? undefined : object(next);
            table.update(before?.c, c);
            if (next === undefined) present.delete(key);
            else present.set(key, { series: next, c: c! });
            assert.deepEqual(
              served(table),
              expected(
                fn,
                [...present.values()].map((p) => p.series),
              ),
            );
          }
        }),
      );
    });

  it('sums fractional values exactly enough that removing them all gives 0, and 0.1 + 0.2 stays 0.3', () => {
    const table = new AggregateTable(family('sum'));
    const a = object([['a', 0.1]]);
    const b = object([['a', 0.2]]);
    const c = object([['a', 1e16]]);
    table.update(undefined, a);
    table.update(undefined, b);
    table.update(undefined, c);
    table.update(c, undefined);
    assert.deepEqual(served(table), ['{c="x",phase="a"} 0.30000000000000004']);
    table.update(a, undefined);
    table.update(b, undefined);
    assert.deepEqual(served(table), []);
  });

  it('folds groups beyond maxGroups into one overflow series and stays exact as objects come and go', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const table = new AggregateTable(family('count', 2));
        const present = new Map<number, AggregateContribution>();
        for (const [key, next] of ops) {
          const c = next === undefined ? undefined : object(next);
          table.update(present.get(key), c);
          if (c) present.set(key, c);
          else present.delete(key);
          const lines = served(table);
          const own = lines.filter((l) => !l.includes(OVERFLOW_LABEL));
          assert.ok(own.length <= 2, `at most 2 groups of their own: ${lines.join(' | ')}`);
          // Every present series is counted exactly once, in its group or in the overflow.
          let total = 0;
          for (const c of present.values()) for (const s of c.shares) total += s.count;
          const counted = lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0);
          assert.equal(counted, total);
          for (const l of lines.filter((l) => l.includes(OVERFLOW_LABEL)))
            assert.equal(l.replace(/ \d+$/, ''), `{c="x",${OVERFLOW_LABEL}="true"}`);
        }
      }),
    );
    let folds = 0;
    const table = new AggregateTable(family('count', 2), () => folds++);
    for (const phase of ['a', 'b', 'c', 'd']) table.update(undefined, object([[phase, 1]]));
    assert.equal(folds, 2);
    assert.deepEqual(served(table), [
      `{c="x",${OVERFLOW_LABEL}="true"} 2`,
      '{c="x",phase="a"} 1',
      '{c="x",phase="b"} 1',
    ]);
  });

  it('drops a group with no series left, unless keepEmptyGroups asks to keep it at 0', () => {
    const dropping = new AggregateTable(family('count'));
    const keeping = new AggregateTable(family('sum', 0, true));
    const o = object([['a', 4]]);
    for (const t of [dropping, keeping]) {
      t.update(undefined, o);
      t.update(o, undefined);
    }
    assert.deepEqual(served(dropping), []);
    assert.deepEqual(served(keeping), ['{c="x",phase="a"} 0']);
  });
});

describe('CountedHeap', () => {
  it('answers the minimum of a multiset under any adds and removes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -5, max: 5 })), { maxLength: 200 }),
        (ops) => {
          const heap = new CountedHeap();
          const model: number[] = [];
          for (const [add, v] of ops) {
            if (add) {
              heap.add(v);
              model.push(v);
            } else {
              heap.remove(v);
              const i = model.indexOf(v);
              if (i >= 0) model.splice(i, 1);
            }
            assert.equal(heap.top(), model.length === 0 ? undefined : Math.min(...model));
          }
        },
      ),
    );
  });
});
