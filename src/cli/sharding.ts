import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/KubeClient.ts';
import { ShardFilter } from '../kube/ShardFilter.ts';
import { validateShardAssignment } from '../kube/sharding.ts';
import type { ShardAssignment } from '../kube/sharding.ts';
import { ShardWatcher } from '../kube/ShardWatcher.ts';
import type { OtelSettings } from '../otel/OtelSettings.ts';
import { registerShardMetrics } from '../otel/ShardMetrics.ts';
import type { SourceFactory } from '../service/createSources.ts';
import { StartupError } from '../service/StartupError.ts';

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

/** Sharding of a running bridge: the sink filter, telemetry, and the StatefulSet watch. */
export interface Sharding {
  readonly assignment: () => ShardAssignment;
  /** Sources that deliver only this shard's objects (each config generation gets a new filter). */
  wrapSources(factory: SourceFactory): SourceFactory;
  /** For BridgeService `onSelfMeter`. */
  readonly onSelfMeter: (meter: Meter) => void;
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
  let current: ShardFilter | undefined;
  const now = (): ShardAssignment => watcher?.assignment ?? assignment;
  return {
    assignment: now,
    wrapSources: (factory) =>
      sharded
        ? (config, sink, telemetry) => factory(config, (current = new ShardFilter(sink, now())), telemetry)
        : factory,
    onSelfMeter: (meter) =>
      registerShardMetrics(meter, () => ({
        ...now(),
        objects: current ? { kept: current.keptCount, skipped: current.skippedCount } : undefined,
      })),
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
