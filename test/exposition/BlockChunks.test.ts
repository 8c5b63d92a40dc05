import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { buffer } from 'node:stream/consumers';
import { BlockChunks, compressionGroups, EncodedChunk } from '../../src/exposition/BlockChunks.ts';
import { ExpositionBody } from '../../src/exposition/ExpositionBody.ts';
import type { SeriesBlock } from '../../src/exposition/SeriesBlock.ts';

const block = (key: string, version = 0): SeriesBlock => ({
  text: `m{name="${key}",v="${version}"} ${version}\n`,
  points: [{ attributes: { name: key }, value: version }],
});

const text = (chunks: readonly EncodedChunk[]) => Buffer.concat(chunks.map((c) => c.bytes())).toString();

/** A tiny deterministic random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('BlockChunks', () => {
  it('tells a changed text from the kept bytes, whatever its characters', () => {
    const texts = [
      'm{v="a"} 1\n',
      'm{v="b"} 1\n',
      'm{v="é"} 1\n', // 2 bytes in UTF-8
      'm{v="\u00e9\u0080\u0080"} 1\n', // characters 0xE9 0x80 0x80
      'm{v="\u9000"} 1\n', // bytes 0xE9 0x80 0x80: as many as the line above has characters
      'm{v="\u{1F600}"} 1\n',
    ];
    for (const before of texts)
      for (const after of texts) {
        const chunks = new BlockChunks(1024);
        chunks.set('k', { text: before, points: [] });
        chunks.snapshot().forEach((c) => c.bytes()); // the block now reads its text from bytes
        chunks.set('k', { text: after, points: [] });
        assert.equal(chunks.dirtyCount, before === after ? 0 : 1, `${before} → ${after}`);
        assert.equal(text(chunks.snapshot()), after);
      }
  });

  it('leaves a chunk as it is when an object comes again with the same text', () => {
    const chunks = new BlockChunks(100);
    for (let i = 0; i < 10; i++) chunks.set(`k${i}`, block(`k${i}`, 1));
    const first = chunks.snapshot();
    first.forEach((c) => c.bytes()); // encoded: the blocks now read their text from bytes
    const kept = chunks.get('k3');
    assert.equal(chunks.set('k3', block('k3', 1)), kept, 'the block already kept');
    assert.equal(chunks.dirtyCount, 0);
    assert.deepEqual(chunks.snapshot(), first, 'the same chunks, not new ones');
    chunks.set('k3', block('k3', 2));
    assert.equal(chunks.dirtyCount, 1);
    const second = chunks.snapshot();
    assert.equal(second.filter((c, i) => c !== first[i]).length, 1, 'only the chunk of k3 is new');
    assert.match(text(second), /name="k3",v="2"/);
  });

  it('keeps the order and content of a Map under any mix of adds, replaces and deletes', () => {
    const rnd = random(7);
    const chunks = new BlockChunks(200);
    const reference = new Map<string, SeriesBlock>();
    for (let step = 0; step < 4000; step++) {
      const key = `k${Math.floor(rnd() * 300)}`;
      const r = rnd();
      if (r < 0.6) {
        const b = block(key, step);
        chunks.set(key, b);
        reference.set(key, b);
      } else {
        assert.equal(chunks.delete(key), reference.delete(key));
      }
      if (step % 97 === 0) {
        const expected = [...reference.values()].map((b) => b.text).join('');
        assert.equal(text(chunks.snapshot()), expected, `snapshot at step ${step}`);
        assert.equal([...chunks.values()].map((b) => b.text).join(''), expected, `values at step ${step}`);
        assert.equal(chunks.size, reference.size);
      }
    }
  });

  it('a snapshot never changes afterwards, and unchanged chunks are reused as they are', async () => {
    const chunks = new BlockChunks(100);
    for (let i = 0; i < 50; i++) chunks.set(`k${i}`, block(`k${i}`));
    const first = chunks.snapshot();
    const before = text(first);
    await Promise.all(first.map((c) => c.deflated()));
    chunks.set('k3', block('k3', 1));
    chunks.delete('k40');
    const second = chunks.snapshot();
    assert.equal(text(first), before, 'the first snapshot still reads as it was');
    assert.notEqual(text(second), before);
    const reused = second.filter((c) => first.includes(c));
    assert.equal(reused.length, second.length - 2, 'only the two changed chunks are new');
    assert.ok(
      reused.every((c) => c.compressed !== undefined),
      'reused chunks keep their compressed form',
    );
    assert.ok(second.filter((c) => !first.includes(c)).every((c) => c.compressed === undefined));
  });

  it('a burst of changes to one chunk makes one new chunk', () => {
    const chunks = new BlockChunks(1000);
    for (let i = 0; i < 100; i++) chunks.set(`k${i}`, block(`k${i}`));
    const first = chunks.snapshot();
    for (let v = 1; v <= 50; v++) chunks.set('k0', block('k0', v));
    assert.equal(chunks.dirtyCount, 1);
    const second = chunks.snapshot();
    assert.equal(second.filter((c) => !first.includes(c)).length, 1);
    assert.match(text(second), /m\{name="k0",v="50"\} 50\n/);
  });

  it('drops a block text string once encoded and still reads it back the same', () => {
    const chunks = new BlockChunks(64);
    const original = { text: 'ünï{a="✓"} 1\n', points: [] };
    chunks.set('u', original);
    const stored = chunks.get('u')!;
    chunks.snapshot()[0]!.bytes();
    assert.equal(stored.text, original.text);
    assert.equal(chunks.snapshot()[0]!.bytes().toString(), original.text);
  });

  it('folds chunks emptied by deletions into their neighbours', () => {
    const chunks = new BlockChunks(100);
    for (let i = 0; i < 100; i++) chunks.set(`k${i}`, block(`k${i}`));
    const full = chunks.snapshot().length;
    for (let i = 0; i < 100; i++) if (i % 10 !== 0) chunks.delete(`k${i}`);
    const after = chunks.snapshot();
    assert.ok(after.length < full / 3, `${after.length} chunks left of ${full}`);
    assert.equal(
      text(after),
      [0, 10, 20, 30, 40, 50, 60, 70, 80, 90].map((i) => block(`k${i}`).text).join(''),
    );
  });
});

describe('ExpositionBody', () => {
  it('writes the same bytes plain and gzipped, empty pieces left out', async () => {
    const chunks = new BlockChunks(300);
    for (let i = 0; i < 200; i++) chunks.set(`k${i}`, block(`k${i}`));
    chunks.set('empty', { text: '', points: [] });
    const snapshot = chunks.snapshot();
    const body = new ExpositionBody(() => ['# HELP m x\n# TYPE m gauge\n', ...snapshot, '', '# EOF\n']);
    const plain = await buffer(body.plain());
    assert.equal(plain.toString(), '# HELP m x\n# TYPE m gauge\n' + text(snapshot) + '# EOF\n');
    assert.deepEqual(gunzipSync(await buffer(body.gzip())), plain);
    let joined = '';
    for await (const s of body) joined += s;
    assert.equal(joined, plain.toString());
  });
});

describe('EncodedChunk compressed forms', () => {
  it('deflated() gives the piece compressed in place, or kept alone, without compressing again', async () => {
    const chunk = EncodedChunk.of('# HELP x X.\n# TYPE x gauge\n');
    const now = chunk.deflatedNow();
    assert.equal(await chunk.deflated(), now);
    const kept = EncodedChunk.compressedOnly(now);
    assert.equal(await kept.deflated(), now);
    assert.equal(kept.compressed, now);
  });
});

describe('compressionGroups', () => {
  it('groups changed chunks up to the bytes given, and leaves encoded or compressed ones alone', () => {
    const changed = (name: string) => new EncodedChunk([block(name)]);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(changed);
    const encoded = EncodedChunk.of('# HELP x X.\n');
    const empty = EncodedChunk.of('');
    const size = a!.size();
    const groups = [...compressionGroups([a!, b!, empty, encoded, c!, d!], 2 * size)];
    assert.deepEqual(
      groups.map((g) => g.length),
      [2, 1, 2],
    );
    assert.equal(groups[1]![0], encoded);
    // A run longer than the bytes given is cut where it reaches them.
    assert.deepEqual(
      [...compressionGroups([a!, b!, c!], 2 * size)].map((g) => g.length),
      [2, 1],
    );
  });
});
