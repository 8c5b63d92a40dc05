import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { buffer } from 'node:stream/consumers';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import type { SeriesCacheOptions } from '../../../src/engine/store/SeriesCache.ts';
import type { EncodedChunk } from '../../../src/exposition/BlockChunks.ts';
import { ExpositionBody } from '../../../src/exposition/ExpositionBody.ts';
import { familyChunkPieces, renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { backupObject, compileText, PATH_CONFIG } from '../../../bench/engineBench.ts';

function setup(objects: number, options: SeriesCacheOptions = {}) {
  const config = compileText(PATH_CONFIG);
  const cache = new SeriesCache(config.families, { chunkBytes: 4096, settleMs: 0, ...options });
  const ingestor = new ObjectIngestor(config, cache, new ObjectErrors());
  for (let i = 0; i < objects; i++) ingestor.upsertNow('bench', `obj-${i}`, backupObject(i));
  const snapshot = () => new Map(config.families.map((f) => [f, cache.snapshot(f)] as const));
  const body = (s: Map<unknown, readonly EncodedChunk[]>) =>
    new ExpositionBody(() => familyChunkPieces(config.families, (f) => s.get(f)!, 'text'));
  const render = () => renderFamilies(config.families, (f) => cache.blocks(f), 'text');
  return { config, cache, ingestor, snapshot, body, render };
}

describe('SeriesCache chunks', () => {
  it('a scrape body is what render prints, plain and gzipped', async () => {
    const { snapshot, body, render } = setup(2000);
    const b = body(snapshot());
    const plain = await buffer(b.plain());
    assert.equal(plain.toString(), render());
    assert.deepEqual(gunzipSync(await buffer(b.gzip())), plain);
  });

  it('a snapshot holds every object all old or all new in every family, whatever changes later', async () => {
    const { snapshot, body, ingestor, render } = setup(500);
    const before = render();
    const taken = snapshot();
    for (let i = 0; i < 500; i += 3) ingestor.upsertNow('bench', `obj-${i}`, backupObject(i + 10_000));
    for (let i = 1; i < 500; i += 7) ingestor.delete('bench', `obj-${i}`);
    assert.notEqual(render(), before);
    assert.equal((await buffer(body(taken).plain())).toString(), before);
    assert.equal(gunzipSync(await buffer(body(taken).gzip())).toString(), before);
    assert.equal((await buffer(body(snapshot()).plain())).toString(), render());
  });

  it('settle encodes changed chunks, and compresses them only once a client asked for gzip', async () => {
    const { cache, snapshot, body, ingestor } = setup(1000);
    assert.ok(cache.dirtyChunks > 0);
    await cache.settle();
    assert.equal(cache.dirtyChunks, 0);
    const chunks = () => [...snapshot().values()].flat();
    assert.ok(chunks().every((c) => c.encoded));
    assert.ok(
      chunks().every((c) => c.compressed === undefined),
      'nobody asked for gzip yet',
    );
    await buffer(body(snapshot()).gzip());
    await cache.settle();
    // Changes to a few objects: only their chunks are compressed again.
    const compressed = new Set(chunks().map((c) => c.compressed));
    for (const i of [3, 4, 5, 900]) ingestor.upsertNow('bench', `obj-${i}`, backupObject(i + 5000));
    await cache.settle();
    const fresh = chunks().filter((c) => !compressed.has(c.compressed));
    const families = snapshot().size;
    assert.ok(fresh.length > 0 && fresh.length <= 2 * families, `${fresh.length} chunks compressed again`);
    assert.ok(chunks().every((c) => c.compressed !== undefined));
  });

  it('the background pass leaves a chunk that keeps changing to the scrape, and takes it once quiet', async () => {
    const { cache, snapshot, body, ingestor } = setup(1000);
    await buffer(body(snapshot()).gzip()); // a client asked for gzip
    const pending = () => [...snapshot().values()].flat().filter((c) => c.compressed === undefined).length;
    for (let round = 0; round < 3; round++) {
      ingestor.upsertNow('bench', 'obj-7', backupObject(100 + round));
      assert.equal(await cache.settle({ quietOnly: true }), true, 'left for the next pass');
      assert.ok(pending() > 0, 'the changing chunks wait');
    }
    assert.equal(await cache.settle({ quietOnly: true }), false);
    assert.equal(pending(), 0, 'compressed once quiet for one pass');
  });

  it('settles by itself shortly after changes', async () => {
    const { cache, body, snapshot, ingestor } = setup(300, { settleMs: 20 });
    await buffer(body(snapshot()).gzip());
    ingestor.upsertNow('bench', 'obj-7', backupObject(77_777));
    assert.ok(cache.dirtyChunks > 0);
    for (let i = 0; i < 100 && cache.dirtyChunks > 0; i++) await delay(10);
    assert.equal(cache.dirtyChunks, 0);
    // The next passes compress the changed chunk once quiet, on the thread pool: waited for, as
    // a loaded machine takes longer than a pass or two.
    const allCompressed = () => [...snapshot().values()].flat().every((c) => c.compressed !== undefined);
    for (let i = 0; i < 500 && !allCompressed(); i++) await delay(10);
    assert.ok(allCompressed());
  });
});
