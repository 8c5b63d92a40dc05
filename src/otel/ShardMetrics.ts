import type { Meter } from '@opentelemetry/api';

/** What the shard instruments read at collection time. */
export interface ShardState {
  readonly shard: number;
  readonly totalShards: number;
  /** Objects served by this shard, and seen but left to other shards; undefined when not sharding. */
  readonly objects: { readonly kept: number; readonly skipped: number } | undefined;
}

/**
 * Sharding self-metrics, named as kube-state-metrics' (`kube_state_metrics_shard_ordinal`,
 * `..._total_shards`) with the bridge's prefix, plus how many objects this shard keeps and skips.
 */
export function registerShardMetrics(meter: Meter, state: () => ShardState): void {
  const prefix = 'crd_metrics_bridge_';
  meter
    .createObservableGauge(`${prefix}shard_ordinal`, {
      description: 'Current sharding ordinal of this instance.',
    })
    .addCallback((r) => r.observe(state().shard));
  meter
    .createObservableGauge(`${prefix}total_shards`, {
      description: 'Number of shards this instance is aware of.',
    })
    .addCallback((r) => r.observe(state().totalShards));
  meter
    .createObservableGauge(`${prefix}shard_objects`, {
      description:
        'Objects this shard serves (decision="kept") and leaves to other shards (decision="skipped").',
    })
    .addCallback((r) => {
      const objects = state().objects;
      if (!objects) return;
      r.observe(objects.kept, { decision: 'kept' });
      r.observe(objects.skipped, { decision: 'skipped' });
    });
}
