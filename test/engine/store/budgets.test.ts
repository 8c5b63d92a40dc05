// Budgets across objects through the ingestor: who loses when a namespace floods the store, and
// that the accounting stays exact through replacement, relists and a rebuild (reload).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import type { SeriesLimits } from '../../../src/engine/limits.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { budgetsOf, ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import type { IngestOutcome } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { systemClock } from '../../../src/runtime/Clock.ts';
import { FOO_CONFIG, hostileFoo } from '../../support/hostileFoo.ts';

const NO_BUDGETS = { totalSeries: 0, totalSeriesBytes: 0, namespaceSeries: 0, namespaceSeriesBytes: 0 };

/** A Foo with `items` elements (items + 3 phase series), created `minute` minutes after noon. */
function foo(name: string, namespace: string, minute: number, items = 7): Record<string, unknown> {
  const object = hostileFoo({ noteBytes: 10, items, name, namespace });
  (object.metadata as Record<string, unknown>).creationTimestamp =
    `2026-01-01T12:${String(minute).padStart(2, '0')}:00Z`;
  return object;
}

function setup(
  limits: Partial<SeriesLimits>,
  slicing = false,
  onReadmissible?: (keys: readonly string[]) => void,
) {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'), { limits: { ...NO_BUDGETS, ...limits } });
  const cache = new SeriesCache(config.families);
  const errors = new ObjectErrors();
  const events: IngestOutcome[] = [];
  const ingestor = new ObjectIngestor(config, cache, errors, {
    listener: (o) => void events.push(o),
    ...(onReadmissible ? { onReadmissible, readmitDelayMs: 0 } : {}),
    ...(slicing
      ? { slicing: { sliceAbove: { series: 20, labelBytes: 64 * 1024 }, sliceMs: 5, clock: systemClock } }
      : {}),
  });
  const text = () => renderFamilies(config.families, (f) => cache.blocks(f), 'text');
  /** namespace/name of every object with series in the exposition. */
  const served = () =>
    [
      ...new Set([...text().matchAll(/name="([^"]*)",namespace="([^"]*)"/g)].map((m) => `${m[2]}/${m[1]}`)),
    ].sort();
  const cachedSeries = () => config.families.reduce((n, f) => n + cache.seriesCount(f), 0);
  const kinds = () => Object.fromEntries(errors.summaries().map((s) => [s.kind, s.count]));
  return { config, cache, ingestor, events, text, served, cachedSeries, kinds };
}

describe('budgets across objects (ingestor)', () => {
  it('a flooding namespace loses its own newest objects; the other namespaces keep all their series', () => {
    // 10 series per object; a namespace may hold 30, the process 70.
    const t = setup({ namespaceSeries: 30, totalSeries: 70 });
    for (let i = 0; i < 3; i++) t.ingestor.upsertNow('s', `b${i}`, foo(`b${i}`, 'team-b', i));
    // The flood arrives newest first, as a list by name may deliver it.
    for (let i = 9; i >= 0; i--) t.ingestor.upsertNow('s', `a${i}`, foo(`a${i}`, 'tenant-a', 10 + i));
    assert.deepEqual(t.served(), [
      'team-b/b0',
      'team-b/b1',
      'team-b/b2',
      'tenant-a/a0',
      'tenant-a/a1',
      'tenant-a/a2',
    ]);
    assert.equal(t.cachedSeries(), 60);
    // Each older arrival evicted the newest: seven held out, counted under the namespace budget.
    assert.equal(t.ingestor.budgets!.droppedCount, 7);
    assert.deepEqual(t.kinds(), { 'limit-namespace-series': 7 });
    // A newcomer of another namespace while the process budget (70) is full: refused, nothing evicted.
    assert.equal(t.ingestor.upsertNow('s', 'c0', foo('c0', 'team-c', 58)), 'upserted');
    assert.equal(t.ingestor.upsertNow('s', 'c1', foo('c1', 'team-c', 59)), 'limited');
    assert.equal(t.kinds()['limit-total-series'], 1);
    assert.ok(t.served().includes('team-b/b2'));
    assert.equal(t.ingestor.budgets!.series, t.cachedSeries());
  });

  it('once a delete frees room, the refused objects that fit are offered back, oldest first', async () => {
    const offered: string[][] = [];
    // 10 series per object; the namespace may hold 30.
    const t = setup({ namespaceSeries: 30 }, false, (keys) => void offered.push([...keys]));
    for (let i = 0; i < 5; i++) t.ingestor.upsertNow('s', `a${i}`, foo(`a${i}`, 'tenant-a', i));
    assert.deepEqual(t.ingestor.budgets!.droppedCount, 2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(offered, [], 'nothing offered while no room was freed');
    t.ingestor.delete('s', 'a1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Room for one: the older of the two refused.
    assert.deepEqual(offered, [['a3']]);
    // Its source delivers it again: admitted, the other still out.
    assert.equal(t.ingestor.upsertNow('s', 'a3', foo('a3', 'tenant-a', 3)), 'upserted');
    assert.deepEqual(t.served(), ['tenant-a/a0', 'tenant-a/a2', 'tenant-a/a3']);
    assert.equal(t.ingestor.budgets!.droppedCount, 1);
  });

  it('the exposition stays valid: each object whole or absent', () => {
    const t = setup({ namespaceSeries: 25 });
    for (let i = 0; i < 5; i++) t.ingestor.upsertNow('s', `a${i}`, foo(`a${i}`, 'tenant-a', i));
    const text = t.text();
    for (const name of ['a0', 'a1']) {
      assert.equal(text.match(new RegExp(`^foo_item_value\\{.*name="${name}"`, 'gm'))?.length, 7);
      assert.equal(text.match(new RegExp(`^foo_phase\\{.*name="${name}"`, 'gm'))?.length, 3);
    }
    assert.doesNotMatch(text, /name="a[234]"/);
    assert.match(text, /^# TYPE foo_item_value gauge$/m);
  });

  it('is exact through replacement, growth over the budget, deletes and a relist', () => {
    const t = setup({ namespaceSeries: 40, namespaceSeriesBytes: 0, totalSeriesBytes: 100_000 });
    const exact = () => {
      const b = t.ingestor.budgets!;
      assert.equal(b.series, t.cachedSeries());
      const bytes = t.config.families.reduce(
        (n, f) => n + [...t.cache.blocks(f)].reduce((m, block) => m + block.text.length, 0),
        0,
      );
      assert.equal(b.bytes, bytes);
    };
    t.ingestor.beginSync('s');
    for (let i = 0; i < 4; i++) t.ingestor.upsertNow('s', `a${i}`, foo(`a${i}`, 'ns', i));
    t.ingestor.endSync('s');
    exact();
    assert.equal(t.ingestor.budgets!.series, 40);
    // a0 grows: the newest (a3, then a2) give way.
    t.ingestor.upsertNow('s', 'a0', foo('a0', 'ns', 0, 27));
    assert.deepEqual(t.served(), ['ns/a0', 'ns/a1']);
    exact();
    // a0 shrinks back: room frees, but a2 and a3 are only identities now; their next event brings them back.
    t.ingestor.upsertNow('s', 'a0', foo('a0', 'ns', 0));
    assert.deepEqual(
      t.ingestor.budgets!.readmissible().map((e) => e.key),
      ['a2', 'a3'],
    );
    t.ingestor.upsertNow('s', 'a3', foo('a3', 'ns', 3));
    exact();
    // A relist that no longer has a1 and a2: deleted (a1 served, a2 dropped), the ledger forgets both.
    t.ingestor.beginSync('s');
    for (const i of [0, 3]) t.ingestor.upsertNow('s', `a${i}`, foo(`a${i}`, 'ns', i));
    t.ingestor.upsertNow('s', 'a5', foo('a5', 'ns', 5));
    t.ingestor.endSync('s');
    assert.deepEqual(t.served(), ['ns/a0', 'ns/a3', 'ns/a5']);
    exact();
    assert.equal(t.ingestor.budgets!.droppedCount, 0);
    // Dropping the scope leaves nothing behind.
    t.ingestor.dropScope('s');
    exact();
    assert.equal(t.ingestor.budgets!.series, 0);
    assert.equal(t.ingestor.budgets!.bytes, 0);
    assert.equal(t.ingestor.budgets!.use().dropped.size, 0);
  });

  it('a rebuild (reload) over the same objects keeps the same objects, whatever the arrival order (objects of one size)', () => {
    const objects = Array.from({ length: 12 }, (_, i) => foo(`o${i}`, i % 2 ? 'odd' : 'even', (i * 7) % 12));
    const keep = (order: number[]) => {
      const t = setup({ namespaceSeries: 35, totalSeries: 60 });
      for (const i of order) t.ingestor.upsertNow('s', `o${i}`, objects[i]);
      return t.served();
    };
    const forward = keep([...objects.keys()]);
    assert.deepEqual(keep([...objects.keys()].reverse()), forward);
    // The three oldest of each namespace (creation minutes 0, 2, 4 / 1, 3, 5... by age).
    assert.equal(forward.length, 6);
  });

  it('checks the budgets when a sliced generation commits, and a dropped object is "limited"', async () => {
    const t = setup({ namespaceSeries: 60 }, true);
    assert.equal(t.ingestor.upsertNow('s', 'a0', foo('a0', 'ns', 0, 30)), 'upserted');
    // 53 series: generated in slices, then refused at commit (33 + 53 > 60).
    assert.equal(await t.ingestor.upsert('s', 'a1', foo('a1', 'ns', 1, 50)), 'limited');
    // An older one (same minute, name `a` before `a0`) takes the place of a0 at commit.
    assert.equal(await t.ingestor.upsert('s', 'old', foo('a', 'ns', 0, 50)), 'upserted');
    assert.deepEqual(t.served(), ['ns/a']);
    assert.equal(t.ingestor.budgets!.series, t.cachedSeries());
  });

  it('takes the budgets from the flags (every resource has the same); 0 everywhere turns them off', () => {
    const on = setup({ totalSeries: 7 });
    assert.deepEqual(budgetsOf(on.config), { ...NO_BUDGETS, totalSeries: 7 });
    assert.ok(on.ingestor.budgets);
    const off = setup({});
    assert.equal(off.ingestor.budgets, undefined);
    for (let i = 0; i < 20; i++) off.ingestor.upsertNow('s', `a${i}`, foo(`a${i}`, 'ns', i));
    assert.equal(off.cachedSeries(), 200);
  });
});
