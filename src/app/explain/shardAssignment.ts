import { validateShardAssignment } from '../../kube/sharding.ts';
import type { ShardAssignment } from '../../kube/sharding.ts';

/**
 * The replica `--shard`/`--total-shards` describe, checked as `run` checks them; undefined when
 * not sharding. Throws ShardingError (one line) for values `run` would refuse.
 */
export function shardAssignment(
  shard: number | undefined,
  totalShards: number | undefined,
): ShardAssignment | undefined {
  if (shard === undefined && totalShards === undefined) return undefined;
  return validateShardAssignment(shard ?? 0, totalShards ?? 1);
}
