import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fnv64a, inShard, jumpHash, shardOf, validateShardAssignment } from '../../src/kube/sharding.ts';
import { podOrdinal } from '../../src/kube/ShardWatcher.ts';

/**
 * Vectors computed independently with Go (hash/fnv New64a and github.com/dgryski/go-jump
 * v0.0.0-20170409065014-e1f439676b57, the function kube-state-metrics' pkg/sharding uses):
 * uid, fnv64a(uid), then jump(fnv64a(uid), n) for n = 1, 2, 3, 5, 10, 64, 1000.
 */
const UID_VECTORS: readonly [string, bigint, readonly number[]][] = [
  ['', 14695981039346656037n, [0, 1, 1, 1, 1, 17, 266]],
  ['a', 12638187200555641996n, [0, 1, 2, 2, 2, 31, 163]],
  ['0b5e7a4c-2f5e-4b8e-9d7c-1a2b3c4d5e6f', 5175096116294522208n, [0, 1, 1, 1, 6, 57, 85]],
  ['d2b1f1a0-6f3c-4c35-8a0e-9e3f2b6c7d81', 13636043728133040757n, [0, 0, 0, 3, 6, 39, 453]],
  ['11111111-2222-3333-4444-555555555555', 6914551482979014905n, [0, 0, 2, 2, 8, 63, 70]],
  ['ffffffff-ffff-ffff-ffff-ffffffffffff', 8581874840851305265n, [0, 0, 0, 0, 6, 62, 91]],
  ['00000000-0000-0000-0000-000000000000', 8950988243607919089n, [0, 1, 1, 1, 1, 20, 211]],
  ['7c9e6679-7425-40de-944b-e07fc1f90ae7', 1981998860462451123n, [0, 0, 0, 0, 0, 59, 293]],
  ['550e8400-e29b-41d4-a716-446655440000', 18136087572667584584n, [0, 1, 1, 4, 4, 37, 232]],
  ['ünïcødé-uid', 16072227389001840155n, [0, 0, 0, 0, 5, 13, 112]],
];
const BUCKETS = [1, 2, 3, 5, 10, 64, 1000];

/** go-jump on raw keys: key, then jump(key, n) for n = 1, 2, 3, 7, 100, 65536. */
const KEY_VECTORS: readonly [bigint, readonly number[]][] = [
  [0n, [0, 0, 0, 0, 0, 0]],
  [1n, [0, 0, 0, 6, 55, 21134]],
  [3735928559n, [0, 1, 2, 5, 87, 64244]],
  [18446744073709551615n, [0, 1, 2, 2, 92, 18311]],
  [9223372036854775808n, [0, 1, 1, 5, 84, 53854]],
];

describe('KSM sharding function (FNV-64a of the UID, jump consistent hash)', () => {
  it('FNV-64a matches Go hash/fnv (UTF-8 bytes)', () => {
    for (const [uid, hash] of UID_VECTORS) assert.equal(fnv64a(uid), hash, uid);
  });

  it('jump matches github.com/dgryski/go-jump, including keys with the top bit set', () => {
    for (const [key, expected] of KEY_VECTORS)
      assert.deepEqual(
        [1, 2, 3, 7, 100, 65536].map((n) => jumpHash(key, n)),
        expected,
        String(key),
      );
  });

  it('shardOf(uid) is the shard KSM would put the object in', () => {
    for (const [uid, , expected] of UID_VECTORS)
      assert.deepEqual(
        BUCKETS.map((n) => shardOf(uid, n)),
        expected,
        uid,
      );
  });

  it('10k UIDs split as in Go (per-shard counts and a position-weighted checksum)', () => {
    // Go: for i in 0..9999, s = jump(fnv64a("uid-<i>"), n); counts[s]++, weighted += s * (i % 97).
    const expected = new Map([
      [3, { counts: [3427, 3329, 3244], weighted: 470367 }],
      [7, { counts: [1501, 1403, 1370, 1468, 1341, 1493, 1424], weighted: 1423714 }],
    ]);
    for (const [n, want] of expected) {
      const counts = new Array<number>(n).fill(0);
      let weighted = 0;
      for (let i = 0; i < 10_000; i++) {
        const s = shardOf(`uid-${i}`, n);
        counts[s]!++;
        weighted += s * (i % 97);
      }
      assert.deepEqual({ counts, weighted }, want);
    }
  });

  it('validates --shard/--total-shards', () => {
    assert.deepEqual(validateShardAssignment(2, 3), { shard: 2, totalShards: 3 });
    assert.throws(() => validateShardAssignment(3, 3), /--shard must be in \[0, 2\]/);
    assert.throws(() => validateShardAssignment(0, 0), /--total-shards must be a positive integer/);
  });

  it('reads the ordinal from a StatefulSet pod name', () => {
    assert.equal(podOrdinal('bridge-0', 'bridge'), 0);
    assert.equal(podOrdinal('crd-metrics-bridge-12', 'crd-metrics-bridge'), 12);
    assert.equal(podOrdinal('bridge-01', 'bridge'), undefined);
    assert.equal(podOrdinal('other-1', 'bridge'), undefined);
    assert.equal(podOrdinal('bridge-x', 'bridge'), undefined);
  });
});

describe('inShard', () => {
  it('accepts objects by metadata.uid; no uid hashes as the empty string, as in kube-state-metrics', () => {
    // shardOf('a', 3) = 2, shardOf('', 3) = 1, shardOf('0b5e…', 3) = 1 (vectors above).
    const accept = inShard({ shard: 1, totalShards: 3 });
    assert.equal(accept({ metadata: { uid: '0b5e7a4c-2f5e-4b8e-9d7c-1a2b3c4d5e6f' } }), true);
    assert.equal(accept({ metadata: { uid: 'a' } }), false);
    assert.equal(accept({ metadata: {} }), true);
    assert.equal(accept(null), true);
    assert.equal(inShard({ shard: 2, totalShards: 3 })({ metadata: { uid: 'a' } }), true);
  });
});
