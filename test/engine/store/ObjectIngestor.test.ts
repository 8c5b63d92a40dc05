// The store's side of the ObjectSink contract: scopes, the relist diff, and objects it does not accept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import type { IngestOutcome } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { benignFoo, FOO_CONFIG } from '../../support/hostileFoo.ts';

function setup(accept?: (object: unknown) => boolean) {
  const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'));
  const cache = new SeriesCache(config.families);
  const events: IngestOutcome[] = [];
  const ingestor = new ObjectIngestor(config, cache, new ObjectErrors(), {
    listener: (o) => void events.push(o),
    ...(accept ? { accept } : {}),
  });
  const names = () =>
    [...renderFamilies(config.families, (f) => cache.blocks(f), 'text').matchAll(/[{,]name="([^"]+)"/g)]
      .map((m) => m[1])
      .filter((n, i, all) => all.indexOf(n) === i)
      .sort();
  return { cache, ingestor, events, names };
}

describe('ObjectIngestor: event outcomes', () => {
  it('a delete is counted under the resource its object was stored for; a delete of nothing under none', () => {
    const config = compileConfig(parseConfig(FOO_CONFIG, 'foo.yaml'));
    const seen: string[] = [];
    const ingestor = new ObjectIngestor(config, new SeriesCache(config.families), new ObjectErrors(), {
      listener: (outcome, resourceId) => void seen.push(`${outcome} ${resourceId ?? '-'}`),
    });
    ingestor.upsertNow('s', 'k1', benignFoo('a'));
    ingestor.delete('s', 'k1');
    ingestor.delete('s', 'k2');
    const id = config.resources[0]!.id;
    assert.deepEqual(seen, [`upserted ${id}`, `deleted ${id}`, 'unknown-delete -']);
  });
});

describe('ObjectIngestor: the sync contract', () => {
  it('a full listing of a scope deletes the keys it did not deliver again, and only of that scope', () => {
    const t = setup();
    t.ingestor.upsertNow('a', 'a|1', benignFoo('a1'));
    t.ingestor.upsertNow('a', 'a|2', benignFoo('a2'));
    t.ingestor.upsertNow('b', 'b|1', benignFoo('b1'));
    t.ingestor.beginSync('a');
    t.ingestor.upsertNow('a', 'a|2', benignFoo('a2'));
    t.ingestor.upsertNow('a', 'a|3', benignFoo('a3'));
    assert.deepEqual(t.names(), ['a1', 'a2', 'a3', 'b1'], 'nothing is deleted before the listing ends');
    t.ingestor.endSync('a');
    assert.deepEqual(t.names(), ['a2', 'a3', 'b1']);
    assert.equal(t.ingestor.objectCount('a'), 2);
    assert.equal(t.ingestor.objectCount('b'), 1);
  });

  it('a listing started again forgets the unfinished one; a delete during a listing is final', () => {
    const t = setup();
    for (const n of ['1', '2', '3']) t.ingestor.upsertNow('a', `a|${n}`, benignFoo(`a${n}`));
    t.ingestor.beginSync('a');
    t.ingestor.upsertNow('a', 'a|1', benignFoo('a1'));
    // The list failed half way; the retry lists everything again.
    t.ingestor.beginSync('a');
    t.ingestor.upsertNow('a', 'a|2', benignFoo('a2'));
    t.ingestor.upsertNow('a', 'a|3', benignFoo('a3'));
    t.ingestor.delete('a', 'a|3');
    t.ingestor.endSync('a');
    assert.deepEqual(t.names(), ['a2']);
  });

  it('endSync without a listing deletes nothing; dropScope deletes the scope', () => {
    const t = setup();
    t.ingestor.upsertNow('a', 'a|1', benignFoo('a1'));
    t.ingestor.upsertNow('b', 'b|1', benignFoo('b1'));
    t.ingestor.endSync('a');
    assert.deepEqual(t.names(), ['a1', 'b1']);
    t.ingestor.dropScope('a');
    assert.deepEqual(t.names(), ['b1']);
    assert.equal(t.ingestor.objectCount('a'), 0);
    assert.deepEqual(t.events.slice(-1), ['deleted']);
  });
});

describe('ObjectIngestor: objects it does not accept (sharding)', () => {
  const mine = (object: unknown) => (object as { metadata: { uid?: string } }).metadata.uid !== 'other';
  const foo = (name: string, uid: string) => ({
    ...benignFoo(name),
    metadata: { name, namespace: 'ns', uid },
  });

  it('tracks refused objects without storing or reporting them, and counts both sides', () => {
    const t = setup(mine);
    assert.equal(t.ingestor.upsertNow('s', 'k1', foo('kept', 'x')), 'upserted');
    assert.equal(t.ingestor.upsertNow('s', 'k2', foo('elsewhere', 'other')), 'refused');
    assert.deepEqual(t.names(), ['kept']);
    assert.deepEqual(t.events, ['upserted'], 'a refused object is no event');
    assert.deepEqual([t.ingestor.keptCount, t.ingestor.refusedCount], [1, 1]);
    assert.equal(t.ingestor.objectCount('s'), 2, 'the scope counts every object delivered');
    t.ingestor.delete('s', 'k2');
    assert.deepEqual([t.ingestor.keptCount, t.ingestor.refusedCount], [1, 0]);
    assert.deepEqual(t.events, ['upserted'], 'nor is its delete');
  });

  it('an object recreated under the same key for another shard loses its series', () => {
    const t = setup(mine);
    t.ingestor.upsertNow('s', 'k1', foo('moved', 'x'));
    assert.equal(t.ingestor.upsertNow('s', 'k1', foo('moved', 'other')), 'refused');
    assert.deepEqual(t.names(), []);
    assert.deepEqual(t.events, ['upserted', 'deleted']);
    assert.deepEqual([t.ingestor.keptCount, t.ingestor.refusedCount], [0, 1]);
  });

  it('a relist forgets refused objects that are gone, like any other', () => {
    const t = setup(mine);
    t.ingestor.upsertNow('s', 'k1', foo('a', 'other'));
    t.ingestor.upsertNow('s', 'k2', foo('b', 'x'));
    t.ingestor.beginSync('s');
    t.ingestor.upsertNow('s', 'k2', foo('b', 'x'));
    t.ingestor.endSync('s');
    assert.deepEqual([t.ingestor.keptCount, t.ingestor.refusedCount], [1, 0]);
  });
});
