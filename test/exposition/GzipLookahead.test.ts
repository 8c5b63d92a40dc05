import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { buffer } from 'node:stream/consumers';
import { BlockChunks } from '../../src/exposition/BlockChunks.ts';
import type { EncodedChunk } from '../../src/exposition/BlockChunks.ts';
import { ExpositionBody, FRESH_DEFLATE_BYTES } from '../../src/exposition/ExpositionBody.ts';
import { GzipLookahead } from '../../src/exposition/GzipLookahead.ts';
import { FINAL_BLOCK } from '../../src/exposition/gzipPieces.ts';
import type { FamilyChunks } from '../../src/exposition/GzipLookahead.ts';
import { familyChunkPieces } from '../../src/exposition/renderFamilies.ts';
import type { SeriesBlock } from '../../src/exposition/SeriesBlock.ts';
import type { FamilyMeta } from '../../src/model/FamilyMeta.ts';
import { FakeClock } from '../kube/fakes.ts';

const FAMILY: FamilyMeta = { index: 0, name: 'backup_size_bytes', type: 'gauge', help: 'Size.' };

const block = (i: number, version: number): SeriesBlock => ({
  text: `backup_size_bytes{namespace="team-${i % 37}",name="backup-${i}",target="s3://bucket-${i % 11}/backup-${i}"} ${version}\n`,
  points: [{ attributes: { name: `backup-${i}` }, value: version }],
});

/** One family of `objects` blocks in chunks of 16 KiB, every object at `version`. */
function family(objects: number) {
  const chunks = new BlockChunks(16 * 1024);
  const write = (version: number) => {
    for (let i = 0; i < objects; i++) chunks.set(`obj-${i}`, block(i, version));
  };
  write(0);
  const snapshot = (): FamilyChunks => new Map([[FAMILY, chunks.snapshot()]]);
  return { chunks, write, snapshot };
}

const text = (families: FamilyChunks) =>
  // From the blocks: bytes() would encode the chunks, as the cache's background pass does.
  [...families.values()].flatMap((chunks) => chunks.flatMap((c) => c.blocks.map((b) => b.text))).join('');

/** The text of a prepared state, which keeps its pieces compressed only. */
const preparedText = (families: FamilyChunks) =>
  [...families.values()]
    .flatMap((chunks) => chunks.map((c) => inflateRawSync(Buffer.concat([c.compressed!.data, FINAL_BLOCK]))))
    .join('');

const body = (families: FamilyChunks, options: ConstructorParameters<typeof ExpositionBody>[1] = {}) =>
  new ExpositionBody(() => familyChunkPieces([...families.keys()], (f) => families.get(f)!, 'text'), options);

const HEADER = '# HELP backup_size_bytes Size.\n# TYPE backup_size_bytes gauge\n';

/** Equal texts, without printing megabytes when they are not. */
function sameText(actual: string, expected: string, message: string): void {
  if (actual === expected) return;
  let at = 0;
  while (actual[at] === expected[at]) at++;
  assert.fail(
    `${message}: differ from character ${at}: ${JSON.stringify(actual.slice(at, at + 80))} vs ${JSON.stringify(expected.slice(at, at + 80))}`,
  );
}

const read = async (parts: AsyncIterable<Buffer>) => gunzipSync(await buffer(parts)).toString();

describe('GzipLookahead', () => {
  it('compresses every chunk shortly before a periodic scraper is due, as one state', async () => {
    const clock = new FakeClock();
    const { write, snapshot } = family(2000);
    const lookahead = new GzipLookahead({ snapshot, clock, maxStalenessMs: 1000 });
    const start = clock.now();
    lookahead.arrived('prometheus');
    await clock.advance(5000);
    lookahead.arrived('prometheus'); // every 5 s: the next is due at +10 s
    write(1);
    const before = text(snapshot());
    // No preparation timed yet: as early as the staleness allows (0.8 of it before the scrape).
    await clock.advance(4100);
    assert.equal(lookahead.preparations, 0, 'nothing prepared long before the scrape is due');
    await clock.advance(100);
    assert.equal(lookahead.preparations, 1);
    await lookahead.ready(); // the preparation ends before the clock moves on: it took no time
    await clock.advance(800);
    const prepared = await lookahead.ready();
    assert.ok(prepared, 'a state is prepared by the time the scrape is due');
    assert.ok(clock.now() - prepared.takenAt <= 1000);
    const pieces = [...prepared.families.values()].flat();
    assert.ok(pieces.every((c: EncodedChunk) => c.compressed !== undefined));
    // Chunks changed since they were encoded are compressed together, a few to a piece.
    assert.ok(pieces.length < [...snapshot().values()].flat().length);
    // Later changes are not in it: every object all old or all new.
    write(2);
    sameText(preparedText(prepared.families), before, 'the state prepared');
    // Too old to serve once maxStalenessMs has passed, and dropped.
    await clock.advance(1100);
    assert.equal(await lookahead.ready(), undefined);
    // The next one is due at +15 s: with the last preparation timed at 0 ms, it starts 100 ms
    // before.
    await clock.advance(start + 15_000 - 100 - 1 - clock.now());
    assert.equal(lookahead.preparations, 1);
    await clock.advance(1);
    assert.equal(lookahead.preparations, 2);
    lookahead.close();
  });

  it('keeps a prepared state compressed only: the text it was taken from is freed', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { write, snapshot } = family(2000);
    const first = [...snapshot().get(FAMILY)!];
    for (const chunk of first) chunk.bytes(); // encoded, as the cache's background pass leaves them
    const taken = new WeakRef(first[0]!.bytes());
    const lookahead = new GzipLookahead({ snapshot, clock: new FakeClock() });
    const prepared = await lookahead.prepare();
    assert.ok(prepared);
    const before = text(new Map([[FAMILY, first]]));
    first.length = 0;
    write(1);
    for (const chunk of snapshot().get(FAMILY)!) chunk.bytes(); // the cache moved on
    gc();
    assert.equal(taken.deref(), undefined, 'the text the state was taken from is still held');
    sameText(preparedText(prepared.families), before, 'the state prepared');
    lookahead.close();
  });

  it('starts early enough for the longest of the last few preparations', async () => {
    const clock = new FakeClock();
    const { snapshot } = family(100);
    // Each preparation takes what the list says: the clock moves while it takes its state.
    const durations = [800, 100, 100];
    const starts: number[] = [];
    const slow = () => {
      starts.push(clock.now());
      clock.time += durations.shift() ?? 0;
      return snapshot();
    };
    const lookahead = new GzipLookahead({ snapshot: slow, clock, maxStalenessMs: 2000 });
    const start = clock.now();
    const due = (k: number) => start + k * 5000; // a scraper every 5 s
    const scrape = async (k: number) => {
      await clock.advance(due(k) - clock.now());
      lookahead.arrived('prometheus');
    };
    await scrape(0);
    await scrape(1);
    const leads: number[] = [];
    for (let k = 2; k <= 4; k++) {
      while (starts.length < k - 1) await clock.advance(10);
      await lookahead.ready(); // the preparation ends before the clock moves on
      leads.push(due(k) - starts[k - 2]!);
      await scrape(k);
    }
    // Lead before the first timed: 0.8 × 2000. Then 800 × 1.5 + 100 = 1300 both times, where the
    // last preparation alone (100 ms) would give 250.
    assert.deepEqual(leads, [1600, 1300, 1300]);
    lookahead.close();
  });

  it('prepares nothing for a scraper seen once, or with a staleness of 0', async () => {
    const clock = new FakeClock();
    const { snapshot } = family(100);
    const once = new GzipLookahead({ snapshot, clock });
    once.arrived('a');
    const off = new GzipLookahead({ snapshot, clock, maxStalenessMs: 0 });
    off.arrived('b');
    await clock.advance(1000);
    off.arrived('b');
    await clock.advance(60_000);
    assert.equal(once.preparations + off.preparations, 0);
    assert.equal(await once.ready(), undefined);
    assert.equal(await off.ready(), undefined);
  });

  it('stops preparing for a scraper that stopped coming', async () => {
    const clock = new FakeClock();
    const { snapshot } = family(100);
    const lookahead = new GzipLookahead({ snapshot, clock });
    lookahead.arrived('a');
    await clock.advance(1000);
    lookahead.arrived('a');
    for (let i = 0; i < 10; i++) {
      await clock.advance(1000);
      await lookahead.ready(); // the preparation started, if any, ends before the clock moves on
    }
    // Three predicted arrivals missed (ArrivalForecast's default), then nothing more.
    assert.equal(lookahead.preparations, 3);
    assert.equal(clock.pendingTimers, 0);
  });

  it('plans nothing more once closed, even with a preparation in flight', async () => {
    const clock = new FakeClock();
    const { snapshot } = family(2000);
    const lookahead = new GzipLookahead({ snapshot, clock });
    lookahead.arrived('a');
    await clock.advance(1000);
    lookahead.arrived('a');
    await clock.advance(950); // the preparation for the scrape due at 2000 starts
    assert.equal(lookahead.preparations, 1);
    lookahead.close();
    await lookahead.ready(); // the preparation in flight ends
    await clock.advance(10_000);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(lookahead.preparations, 1);
    lookahead.arrived('a');
    assert.equal(clock.pendingTimers, 0);
  });

  it('a state is as old as it was when the scrape asked, however long its preparation takes', async () => {
    const clock = new FakeClock();
    const { write, snapshot } = family(2000);
    const lookahead = new GzipLookahead({ snapshot, clock, maxStalenessMs: 1000 });
    write(4);
    const preparing = lookahead.prepare(); // takes the state now
    clock.time += 900;
    const ready = lookahead.ready(); // asks 900 ms later: recent enough
    clock.time += 500; // the preparation ends 1.4 s after its state was taken
    assert.equal(await ready, await preparing);
    // Asked 1.4 s after the state was taken: too old.
    assert.equal(await lookahead.ready(), undefined);
  });

  it('a scrape that comes while a preparation runs waits for it', async () => {
    const clock = new FakeClock();
    const { write, snapshot } = family(2000);
    const lookahead = new GzipLookahead({ snapshot, clock });
    write(3);
    const preparing = lookahead.prepare();
    const ready = await lookahead.ready();
    assert.equal(ready, await preparing);
    assert.ok(ready && preparedText(ready.families).includes('"} 3\n'));
  });
});

describe('ExpositionBody with a prepared state', () => {
  it('answers a gzip scrape with the prepared state when its own chunks need much compressing', async () => {
    const clock = new FakeClock();
    const { write, snapshot } = family(20_000);
    const lookahead = new GzipLookahead({ snapshot, clock, maxStalenessMs: 1000 });
    const prepared = await lookahead.prepare();
    assert.ok(prepared);
    write(1); // every chunk changed: more than FRESH_DEFLATE_BYTES to compress
    const now = snapshot();
    assert.ok(text(now).length > FRESH_DEFLATE_BYTES);
    const asked: string[] = [];
    const answered: string[] = [];
    const options = {
      onGzip: (requester: string) => asked.push(requester),
      onGzipAnswered: (state: string) => answered.push(state),
      prepared: async () => {
        const p = await lookahead.ready();
        return p && familyChunkPieces([...p.families.keys()], (f) => p.families.get(f)!, 'text');
      },
    };
    sameText(
      await read(body(now, options).gzip('10.0.0.1 Prometheus/3')),
      HEADER + preparedText(prepared.families),
      'the prepared state',
    );
    assert.deepEqual(asked, ['10.0.0.1 Prometheus/3']);
    // Without a prepared state (too old), the scrape compresses its own chunks.
    await clock.advance(1001);
    sameText(await read(body(now, options).gzip()), HEADER + text(now), 'the current state');
    assert.deepEqual(answered, ['prepared', 'current']);
  });

  it('writes a prepared state without waiting for the event loop: headers are compressed in place', async () => {
    const clock = new FakeClock();
    const { write, snapshot } = family(20_000);
    const lookahead = new GzipLookahead({ snapshot, clock });
    const prepared = await lookahead.prepare();
    assert.ok(prepared);
    write(1);
    const now = snapshot();
    // The whole scrape runs on microtasks: a trip through the thread pool (or any timer) would
    // let these run. Under churn every such turn waits behind the watch events.
    let turns = 0;
    let counting = true;
    const tick = () => {
      if (!counting) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const served = await read(
      body(now, {
        prepared: async () => {
          const p = await lookahead.ready();
          return p && familyChunkPieces([...p.families.keys()], (f) => p.families.get(f)!, 'text');
        },
      }).gzip(),
    );
    counting = false;
    sameText(served, HEADER + preparedText(prepared.families), 'the prepared state');
    assert.equal(turns, 0, 'event-loop turns during the scrape');
  });

  it('hands over the pieces ready at once in a few batches, not one by one', async () => {
    const { snapshot } = family(20_000);
    const now = snapshot();
    const chunks = now.get(FAMILY)!;
    for (const chunk of chunks) await chunk.deflated(); // quiet: every chunk compressed alone
    const batches: (readonly Buffer[])[] = [];
    for await (const batch of body(now).gzipBatches()) batches.push(batch);
    const compressed = batches.flat();
    sameText(gunzipSync(Buffer.concat(compressed)).toString(), HEADER + text(now), 'the body');
    assert.ok(chunks.length > 50, `${chunks.length} chunks`);
    // 256 KiB a batch (this body is under 100 KiB compressed), unless the loop's time slice ends.
    assert.ok(
      batches.length <= 3 && compressed.length >= 20 * batches.length,
      `${compressed.length} pieces in ${batches.length} batches`,
    );
  });

  it('compresses a few changed chunks itself, for the current state', async () => {
    const clock = new FakeClock();
    const { chunks, snapshot } = family(20_000);
    for (const chunk of snapshot().get(FAMILY)!) chunk.bytes(); // quiet: the background pass encoded them
    const lookahead = new GzipLookahead({ snapshot, clock });
    await lookahead.prepare();
    chunks.set('obj-5', block(5, 42));
    const now = snapshot();
    const options = {
      prepared: async () => {
        const p = await lookahead.ready();
        return p && familyChunkPieces([...p.families.keys()], (f) => p.families.get(f)!, 'text');
      },
    };
    const served = await read(body(now, options).gzip());
    sameText(served, HEADER + text(now), 'the current state');
    assert.ok(served.includes('name="backup-5",target="s3://bucket-5/backup-5"} 42\n'));
  });

  it('builds the text computed at the scrape (the health families) once', async () => {
    const { snapshot } = family(200);
    const now = snapshot();
    let built = 0;
    const tail = () => {
      built++;
      return '# TYPE kube_customresource_health_transitions counter\n';
    };
    const served = await read(
      new ExpositionBody(() => familyChunkPieces([...now.keys()], (f) => now.get(f)!, 'text', '', tail), {
        // Deciding whether to use a prepared state walks the pieces; none is ready here.
        prepared: () => Promise.resolve(undefined),
      }).gzip(),
    );
    sameText(served, HEADER + text(now) + tail(), 'the current state');
    assert.equal(built, 2, 'the tail built once by the scrape, once above');
  });
});
