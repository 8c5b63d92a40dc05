/**
 * kube-state-metrics' sharding function: an object belongs to shard
 * `jump(fnv64a(metadata.uid), totalShards)` (pkg/sharding: FNV-1a 64 over the UID's bytes, then
 * Lamping and Veach's jump consistent hash as github.com/dgryski/go-jump computes it). Same
 * function, same assignment: a bridge shard and a KSM shard with the same ordinal see the same
 * objects.
 */

const MASK16 = 0xffff;

/** A 64-bit unsigned value as four 16-bit limbs, least significant first (exact in doubles). */
type Limbs = [number, number, number, number];

/** FNV-1a 64 of the string's UTF-8 bytes (Go's hash/fnv New64a), as limbs. */
function fnv64aLimbs(text: string): Limbs {
  // FNV-64 offset basis 0xcbf29ce484222325; prime 2^40 + 0x1b3.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (const byte of Buffer.from(text, 'utf8')) {
    h0 ^= byte;
    // h * 0x1b3 + (h << 40), carried limb by limb.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & MASK16;
    h1 = t1 & MASK16;
    h2 = t2 & MASK16;
    h3 = t3 & MASK16;
  }
  return [h0, h1, h2, h3];
}

/** FNV-1a 64 of the string's UTF-8 bytes, as an unsigned 64-bit BigInt (Go's hash/fnv New64a). */
export function fnv64a(text: string): bigint {
  return limbsToBigInt(fnv64aLimbs(text));
}

// go-jump's LCG multiplier 2862933555777941757 = 0x27bb2ee687b0b0fd, in limbs.
const M0 = 0xb0fd;
const M1 = 0x87b0;
const M2 = 0x2ee6;
const M3 = 0x27bb;
const TWO_POW_31 = 2 ** 31;

/** Jump consistent hash of a 64-bit key into [0, buckets), as go-jump's Hash. */
export function jumpHash(key: bigint, buckets: number): number {
  return jumpHashLimbs(bigIntToLimbs(key), buckets);
}

function jumpHashLimbs(key: Limbs, buckets: number): number {
  let [k0, k1, k2, k3] = key;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // k = k * M + 1 (mod 2^64): schoolbook multiplication on 16-bit limbs; every partial sum
    // stays below 2^53.
    const t0 = k0 * M0 + 1;
    const t1 = k0 * M1 + k1 * M0 + Math.floor(t0 / 0x10000);
    const t2 = k0 * M2 + k1 * M1 + k2 * M0 + Math.floor(t1 / 0x10000);
    const t3 = k0 * M3 + k1 * M2 + k2 * M1 + k3 * M0 + Math.floor(t2 / 0x10000);
    k0 = t0 % 0x10000;
    k1 = t1 % 0x10000;
    k2 = t2 % 0x10000;
    k3 = t3 % 0x10000;
    // (k >> 33) + 1: bits 33..63, i.e. k3's 16 bits and k2's top 15.
    const high = k3 * 0x8000 + Math.floor(k2 / 2) + 1;
    j = Math.trunc((b + 1) * (TWO_POW_31 / high));
  }
  return b;
}

/** The shard (0-based) an object with this UID belongs to among `totalShards`. */
export function shardOf(uid: string, totalShards: number): number {
  return jumpHashLimbs(fnv64aLimbs(uid), totalShards);
}

function limbsToBigInt([h0, h1, h2, h3]: Limbs): bigint {
  return (BigInt(h3) << 48n) | (BigInt(h2) << 32n) | (BigInt(h1) << 16n) | BigInt(h0);
}

function bigIntToLimbs(value: bigint): Limbs {
  const v = BigInt.asUintN(64, value);
  return [Number(v & 0xffffn), Number((v >> 16n) & 0xffffn), Number((v >> 32n) & 0xffffn), Number(v >> 48n)];
}

/** This process's place among the shards. */
export interface ShardAssignment {
  /** 0-based ordinal. */
  readonly shard: number;
  readonly totalShards: number;
}

/**
 * Whether an object belongs to this shard: by metadata.uid, as kube-state-metrics; an object
 * without a UID hashes as the empty string, as in KSM.
 */
export function inShard(assignment: ShardAssignment): (object: unknown) => boolean {
  const { shard, totalShards } = assignment;
  return (object) => shardOf(uidOf(object), totalShards) === shard;
}

function uidOf(object: unknown): string {
  const metadata = (object as { metadata?: { uid?: unknown } } | null)?.metadata;
  return typeof metadata?.uid === 'string' ? metadata.uid : '';
}

/** A sharding setup that cannot work (bad flags, a pod without a StatefulSet); one line. */
export class ShardingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ShardingError';
  }
}

/** Checks `--shard`/`--total-shards`; throws ShardingError. */
export function validateShardAssignment(shard: number, totalShards: number): ShardAssignment {
  if (!Number.isInteger(totalShards) || totalShards < 1)
    throw new ShardingError(`--total-shards must be a positive integer, got ${totalShards}`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= totalShards)
    throw new ShardingError(
      `--shard must be in [0, ${totalShards - 1}] for --total-shards ${totalShards}, got ${shard}`,
    );
  return { shard, totalShards };
}
