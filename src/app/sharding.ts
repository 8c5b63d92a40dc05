import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/KubeClient.ts';
import { inShard, validateShardAssignment } from '../kube/sharding.ts';
import type { ShardAssignment } from '../kube/sharding.ts';
import { ShardWatcher } from '../kube/ShardWatcher.ts';
import type { OtelSettings } from '../otel/OtelSettings.ts';
import { registerShardMetrics } from '../otel/ShardMetrics.ts';
import { StartupError } from './StartupError.ts';

/** `run` flags for sharding, as kube-state-metrics'. */
export interface ShardingFlags {
  /** 0-based shard of this instance. @default 0 */
  readonly shard?: number | undefined;
  /** Number of shards; 1 = no sharding. @default 1 */
  readonly totalShards?: number | undefined;
  /** Auto-sharding: this pod's name and namespace (downward API); the StatefulSet decides. */
  readonly pod?: string | undefined;
  readonly podNamespace?: string | undefined;
}

/** Objects this shard serves and leaves to others, as the serving pipeline counts them. */
export type ShardObjectCounts = () => { readonly kept: number; readonly skipped: number };

/** Sharding of a running bridge: which objects it serves, telemetry, and the StatefulSet watch. */
export interface Sharding {
  readonly assignment: () => ShardAssignment;
  /**
   * The objects this bridge serves under the current assignment (each config generation asks
   * again: auto-sharding changes it); undefined when not sharding.
   */
  accept(): ((object: unknown) => boolean) | undefined;
  /** Registers the shard self-metrics on the bridge's own meter. */
  registerMetrics(meter: Meter, objects: ShardObjectCounts): void;
  /** OTel settings with the shard in the resource's service.instance.id (unless set by the user). */
  withInstanceId(settings: OtelSettings): OtelSettings;
  /** Starts following the StatefulSet (auto-sharding); `rebuild` is called when the total changes. */
  start(rebuild: () => void): void;
  stop(): Promise<void>;
}

/** Reads the flags (and the pod and StatefulSet in auto mode); throws StartupError or ShardingError. */
export async function setUpSharding(
  flags: ShardingFlags,
  logger: Logger,
  kubeClient: () => KubeClient,
): Promise<Sharding> {
  let watcher: ShardWatcher | undefined;
  let assignment: ShardAssignment;
  const auto = flags.pod !== undefined || flags.podNamespace !== undefined;
  if (auto) {
    if (!flags.pod || !flags.podNamespace)
      throw new StartupError('auto-sharding needs both --pod and --pod-namespace (from the downward API)');
    if (flags.shard !== undefined || flags.totalShards !== undefined)
      throw new StartupError(
        '--shard/--total-shards cannot be combined with --pod/--pod-namespace (auto-sharding)',
      );
    watcher = await ShardWatcher.resolve({
      client: kubeClient(),
      pod: flags.pod,
      namespace: flags.podNamespace,
      logger,
    });
    assignment = watcher.assignment;
    logger.info({ statefulSet: watcher.statefulSet, ...assignment }, 'auto-sharding');
  } else {
    assignment = validateShardAssignment(flags.shard ?? 0, flags.totalShards ?? 1);
    if (assignment.totalShards > 1) logger.info(assignment, 'sharding');
  }
  const sharded = auto || assignment.totalShards > 1;
  const now = (): ShardAssignment => watcher?.assignment ?? assignment;
  return {
    assignment: now,
    accept: () => (sharded ? inShard(now()) : undefined),
    registerMetrics: (meter, objects) =>
      registerShardMetrics(meter, () => ({ ...now(), objects: sharded ? objects() : undefined })),
    withInstanceId(settings) {
      if (!sharded || 'service.instance.id' in settings.resourceAttributes) return settings;
      if (/(^|,)\s*service\.instance\.id\s*=/.test(process.env.OTEL_RESOURCE_ATTRIBUTES ?? ''))
        return settings;
      return {
        ...settings,
        resourceAttributes: { ...settings.resourceAttributes, 'service.instance.id': `shard-${now().shard}` },
      };
    },
    start(rebuild) {
      watcher?.start(() => rebuild());
    },
    async stop() {
      await watcher?.stop();
    },
  };
}
