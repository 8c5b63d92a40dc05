// Sliced ingestion (no single object may block the event loop for long). Deterministic:
// a slice ends after a fixed number of units of work, never on a clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import type { SeriesLimits } from '../../../src/engine/limits.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import type { IngestOutcome } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { systemClock } from '../../../src/runtime/Clock.ts';
import type { Clock } from '../../../src/runtime/Clock.ts';
import { benignFoo, FOO_CONFIG, hostileFoo } from '../../support/hostileFoo.ts';

/** Units of work per slice: small, so a 300-series object takes many slices. */
const UNITS_PER_SLICE = 25;

function setup(limits: Partial<SeriesLimits> = {}) {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'), { limits });
  const cache = new SeriesCache(config.families);
  const errors = new ObjectErrors();
  const events: IngestOutcome[] = [];
  /** What happened, in order: `slice` for every slice run, plus whatever a test notes. */
  const log: string[] = [];
  /** Called before every slice runs (a scrape in the middle of a generation, say). */
  let beforeSlice: () => void = () => undefined;
  // Every read of the monotonic clock is one unit of work; turns are logged.
  let units = 0;
  const clock: Clock = {
    ...systemClock,
    monotonic: () => ++units,
    setImmediate: (next) =>
      void setImmediate(() => {
        beforeSlice();
        log.push('slice');
        next();
      }),
  };
  const ingestor = new ObjectIngestor(config, cache, errors, {
    listener: (o) => void events.push(o),
    slicing: { sliceAbove: { series: 50, labelBytes: 64 * 1024 }, sliceMs: UNITS_PER_SLICE, clock },
  });
  const text = () => renderFamilies(config.families, (f) => cache.blocks(f), 'text');
  /** The same object through the synchronous path, for comparison. */
  const syncText = (objects: [string, unknown][]) => {
    const c = new SeriesCache(config.families);
    const i = new ObjectIngestor(config, c, new ObjectErrors());
    for (const [key, object] of objects) i.upsertNow('test', key, object);
    return renderFamilies(config.families, (f) => c.blocks(f), 'text');
  };
  const kinds = () => Object.fromEntries(errors.summaries().map((s) => [s.kind, s.count]));
  return {
    cache,
    ingestor,
    events,
    log,
    text,
    syncText,
    kinds,
    onSlice: (fn: () => void) => (beforeSlice = fn),
  };
}

/** A Foo with `items` + 3 series (one per item, three states), each item series carrying `note`. */
function largeWithNote(items: number, note: string, name = 'big'): Record<string, unknown> {
  const o = hostileFoo({ noteBytes: 0, items, name }) as { spec: { note: string } } & Record<string, unknown>;
  o.spec.note = note;
  return o;
}

describe('sliced ingestion', () => {
  it('generates a large kept object across several event-loop turns, and commits it whole', async () => {
    const t = setup();
    assert.equal(
      t.ingestor.upsert('test', 'b', benignFoo('b')),
      'upserted',
      'a small object stays synchronous',
    );
    const object = largeWithNote(300, 'x'.repeat(200));
    // Scheduled before the ingest: it must run while the object is being generated, not after.
    setImmediate(() => t.log.push('other work'));
    const pending = t.ingestor.upsert('test', 'big', object);
    assert.ok(pending instanceof Promise, 'a large object is handed back as pending work');
    assert.equal(t.ingestor.pending, 1);
    assert.doesNotMatch(t.text(), /name="big"/, 'nothing of it is served before it is complete');
    assert.equal(await pending, 'upserted');
    const slices = t.log.filter((e) => e === 'slice').length;
    assert.ok(slices >= 300 / UNITS_PER_SLICE, `${slices} slices`);
    assert.ok(t.log.indexOf('other work') < t.log.lastIndexOf('slice'), t.log.slice(0, 5).join());
    assert.equal(t.ingestor.pending, 0);
    assert.deepEqual(t.events, ['upserted', 'upserted']);
    assert.equal(
      t.text(),
      t.syncText([
        ['b', benignFoo('b')],
        ['big', object],
      ]),
      'same series as the synchronous path',
    );
  });

  it('renders a large block exactly (its text is joined a chunk at a time)', async () => {
    const t = setup();
    assert.equal(await t.ingestor.upsert('test', 'big', largeWithNote(700, 'a "quoted" note')), 'upserted');
    const lines = t
      .text()
      .split('\n')
      .filter((l) => l.startsWith('foo_item_value{'));
    // Series are in KSM's order: by label values as strings (item-0, item-1, item-10, ...).
    const expected = Array.from({ length: 700 }, (_, i) => i)
      .sort((x, y) => (`item-${x}` < `item-${y}` ? -1 : 1))
      .map(
        (i) =>
          `foo_item_value{customresource_group="example.com",customresource_kind="Foo",customresource_version="v1",item="item-${i}",name="big",namespace="tenant-a",note="a \\"quoted\\" note"} ${i}`,
      );
    assert.deepEqual(lines, expected);
  });

  it('serves the complete old series during slicing, never a mix, then the new ones', async () => {
    const t = setup();
    const v1 = largeWithNote(300, 'old');
    const v2 = largeWithNote(280, 'new');
    assert.equal(await t.ingestor.upsert('test', 'big', v1), 'upserted');
    const oldText = t.text();
    const newText = t.syncText([['big', v2]]);
    assert.notEqual(oldText, newText);
    const seen: string[] = [];
    t.onSlice(() => seen.push(t.text()));
    assert.equal(await t.ingestor.upsert('test', 'big', v2), 'upserted');
    assert.ok(seen.length > 5, `${seen.length} scrapes during the generation`);
    for (const [i, s] of seen.entries()) assert.equal(s, oldText, `scrape ${i} during slicing`);
    assert.equal(t.text(), newText);
  });

  it('lets a delete during slicing win', async () => {
    const t = setup();
    assert.equal(await t.ingestor.upsert('test', 'big', largeWithNote(300, 'old')), 'upserted');
    let slices = 0;
    const pending = t.ingestor.upsert('test', 'big', largeWithNote(300, 'new'));
    t.onSlice(() => {
      if (++slices === 3) assert.equal(t.ingestor.delete('test', 'big'), 'deleted');
    });
    assert.equal(await pending, 'superseded');
    for (let i = 0; i < 50; i++) await nextTurn();
    assert.equal(t.cache.has('big'), false);
    assert.doesNotMatch(t.text(), /name="big"/);
    assert.equal(slices, 3, 'no slice runs after the delete');
    assert.deepEqual(t.events, ['upserted', 'superseded', 'deleted']);
  });

  it('lets a newer update during slicing win, small or large', async () => {
    const t = setup();
    let slices = 0;
    const first = t.ingestor.upsert('test', 'big', largeWithNote(300, 'first'));
    let second: IngestOutcome | Promise<IngestOutcome> | undefined;
    t.onSlice(() => {
      slices++;
      // Mid-way through the first, a large second version arrives; mid-way through that, a small one.
      if (slices === 2) second = t.ingestor.upsert('test', 'big', largeWithNote(300, 'second'));
      if (slices === 6) assert.equal(t.ingestor.upsert('test', 'big', largeWithNote(3, 'third')), 'upserted');
    });
    assert.equal(await first, 'superseded');
    for (let i = 0; i < 10; i++) await nextTurn();
    assert.equal(await second, 'superseded');
    for (let i = 0; i < 50; i++) await nextTurn();
    assert.equal(t.text(), t.syncText([['big', largeWithNote(3, 'third')]]));
    assert.equal(t.ingestor.pending, 0);
  });

  it('cuts off at a limit crossed mid-way and leaves nothing partial (old series gone too)', async () => {
    // 300 items + 3 states: the item family completes over many slices, the state set crosses 302.
    const t = setup({ objectSeries: 302 });
    assert.equal(await t.ingestor.upsert('test', 'big', largeWithNote(250, 'old')), 'upserted');
    assert.match(t.text(), /name="big"/);
    t.log.length = 0;
    assert.equal(await t.ingestor.upsert('test', 'big', largeWithNote(300, 'new')), 'limited');
    assert.ok(t.log.length > 5, `cut after ${t.log.length} slices`);
    assert.equal(t.cache.has('big'), false);
    assert.doesNotMatch(t.text(), /name="big"/);
    assert.deepEqual(t.kinds(), { 'limit-object-series': 1 });
  });

  it('checks the family limit again at commit: objects sliced side by side cannot overshoot it', async () => {
    const t = setup({ familySeries: 500 });
    const a = t.ingestor.upsert('test', 'a', largeWithNote(300, 'a', 'a'));
    const b = t.ingestor.upsert('test', 'b', largeWithNote(300, 'b', 'b'));
    assert.deepEqual(await Promise.all([a, b]), ['upserted', 'limited']);
    assert.match(t.text(), /name="a"/);
    assert.doesNotMatch(t.text(), /name="b"/);
    assert.deepEqual(t.kinds(), { 'limit-family-series': 1 });
  });

  it('abandons every generation in progress on cancelAll', async () => {
    const t = setup();
    const pending = t.ingestor.upsert('test', 'big', largeWithNote(300, 'x'));
    t.ingestor.cancelAll();
    assert.equal(await pending, 'superseded');
    for (let i = 0; i < 20; i++) await nextTurn();
    assert.equal(t.cache.has('big'), false);
    assert.equal(t.ingestor.pending, 0);
  });
});
