import type { Logger } from 'pino';
import type { KubeClient } from './KubeClient.ts';
import { ApiListerWatcher } from './ApiListerWatcher.ts';
import { Reflector } from './Reflector.ts';
import type { ReflectorObserver } from './Reflector.ts';
import type { KubeObject } from './KubeObject.ts';
import { CallbackSink } from '../sources/CallbackSink.ts';
import { ShardingError } from './sharding.ts';
import type { ShardAssignment } from './sharding.ts';

export interface ShardWatcherOptions {
  readonly client: KubeClient;
  /** This pod's name and namespace (`--pod`, `--pod-namespace`, from the downward API). */
  readonly pod: string;
  readonly namespace: string;
  readonly logger: Logger;
  readonly observer?: ReflectorObserver;
}

interface OwnerReference {
  kind?: string;
  name?: string;
  controller?: boolean;
}

/**
 * kube-state-metrics' auto-sharding: the pod's controlling StatefulSet gives the total (its
 * spec.replicas) and the pod name's ordinal suffix gives the shard. A watch on that one
 * StatefulSet reports scale changes, so shards rebalance without a restart.
 */
export class ShardWatcher {
  readonly statefulSet: string;
  private readonly _o: ShardWatcherOptions;
  private readonly _ordinal: number;
  private _totalShards: number;
  private _reflector: Reflector | undefined;

  private constructor(options: ShardWatcherOptions, statefulSet: string, ordinal: number, total: number) {
    this._o = options;
    this.statefulSet = statefulSet;
    this._ordinal = ordinal;
    this._totalShards = total;
  }

  /** Reads the pod and its StatefulSet; throws ShardingError with one line. */
  static async resolve(options: ShardWatcherOptions): Promise<ShardWatcher> {
    const { client, pod, namespace } = options;
    const signal = AbortSignal.timeout(30_000);
    const where = `pod ${namespace}/${pod}`;
    let podObject: KubeObject;
    try {
      podObject = (await (
        await client.get(`/api/v1/namespaces/${enc(namespace)}/pods/${enc(pod)}`, {}, signal)
      ).json()) as KubeObject;
    } catch (err) {
      throw new ShardingError(`auto-sharding: cannot read ${where}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const owners =
      (podObject.metadata as { ownerReferences?: OwnerReference[] } | undefined)?.ownerReferences ?? [];
    const owner = owners.find((o) => o.kind === 'StatefulSet' && o.controller === true && o.name);
    if (!owner?.name) throw new ShardingError(`auto-sharding: ${where} is not owned by a StatefulSet`);
    const ordinal = podOrdinal(pod, owner.name);
    if (ordinal === undefined)
      throw new ShardingError(
        `auto-sharding: cannot read an ordinal from pod name "${pod}" (expected ${owner.name}-N)`,
      );
    let total: number;
    try {
      const sts = (await (
        await client.get(
          `/apis/apps/v1/namespaces/${enc(namespace)}/statefulsets/${enc(owner.name)}`,
          {},
          signal,
        )
      ).json()) as KubeObject;
      total = replicasOf(sts);
    } catch (err) {
      throw new ShardingError(
        `auto-sharding: cannot read StatefulSet ${namespace}/${owner.name}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return new ShardWatcher(options, owner.name, ordinal, total);
  }

  /**
   * The current assignment; `shard >= totalShards` when the StatefulSet was scaled below this
   * pod's ordinal (the pod is about to go: it serves nothing).
   */
  get assignment(): ShardAssignment {
    return { shard: this._ordinal, totalShards: this._totalShards };
  }

  /** Watches the StatefulSet; `onChange` runs when spec.replicas changes. */
  start(onChange: (assignment: ShardAssignment) => void): void {
    const { client, namespace, logger, observer } = this._o;
    const target = {
      id: `apps/v1/statefulsets/${namespace}/${this.statefulSet}`,
      path: `/apis/apps/v1/namespaces/${enc(namespace)}/statefulsets`,
      fieldSelector: `metadata.name=${this.statefulSet}`,
    };
    this._reflector = new Reflector({
      listerWatcher: new ApiListerWatcher(client, target),
      target,
      logger,
      observer,
      sink: new CallbackSink({
        upsert: (_key, sts) => {
          const total = replicasOf(sts as KubeObject);
          if (total === this._totalShards) return;
          logger.info(
            { statefulSet: this.statefulSet, from: this._totalShards, to: total, shard: this._ordinal },
            'StatefulSet scaled: rebalancing shards',
          );
          this._totalShards = total;
          onChange(this.assignment);
        },
        delete: () => undefined,
      }),
    });
    this._reflector.start();
  }

  async stop(): Promise<void> {
    await this._reflector?.stop();
  }
}

/** The N of `<statefulset>-N`. */
export function podOrdinal(pod: string, statefulSet: string): number | undefined {
  if (!pod.startsWith(`${statefulSet}-`)) return undefined;
  const suffix = pod.slice(statefulSet.length + 1);
  return /^(0|[1-9]\d*)$/.test(suffix) ? Number(suffix) : undefined;
}

/** spec.replicas, 1 when unset (the API server's default). */
function replicasOf(sts: KubeObject): number {
  const replicas = (sts.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0 ? replicas : 1;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
