import type { ObjectSink } from '../sources/Source.ts';
import { shardOf } from './sharding.ts';
import type { ShardAssignment } from './sharding.ts';

/**
 * Wraps the object sink of one pipeline and passes on only this shard's objects (by
 * metadata.uid, as kube-state-metrics). An object without a UID hashes as the empty string, as
 * in KSM. Keys are remembered on both sides so that a key whose object was replaced by one that
 * belongs elsewhere (deleted and recreated during a watch gap) drops its series, and the kept and
 * skipped counts can be reported.
 */
export class ShardFilter implements ObjectSink {
  readonly assignment: ShardAssignment;
  private readonly _inner: ObjectSink;
  private readonly _kept = new Set<string>();
  private readonly _skipped = new Set<string>();

  constructor(inner: ObjectSink, assignment: ShardAssignment) {
    this._inner = inner;
    this.assignment = assignment;
  }

  /** Objects this shard serves. */
  get keptCount(): number {
    return this._kept.size;
  }

  /** Objects seen that belong to other shards. */
  get skippedCount(): number {
    return this._skipped.size;
  }

  upsert(key: string, object: unknown, origin?: string): unknown {
    const { shard, totalShards } = this.assignment;
    if (shardOf(uidOf(object), totalShards) === shard) {
      this._skipped.delete(key);
      this._kept.add(key);
      return this._inner.upsert(key, object, origin);
    }
    this._skipped.add(key);
    if (this._kept.delete(key)) return this._inner.delete(key);
    return undefined;
  }

  delete(key: string): unknown {
    this._skipped.delete(key);
    if (this._kept.delete(key)) return this._inner.delete(key);
    return undefined;
  }
}

function uidOf(object: unknown): string {
  const metadata = (object as { metadata?: { uid?: unknown } } | null)?.metadata;
  return typeof metadata?.uid === 'string' ? metadata.uid : '';
}
