import type { Logger } from 'pino';
import type { ResourceConfig } from '../config/types.ts';
import { pendingWork } from '../sources/Source.ts';
import type { ObjectSink, Source, TargetStatus } from '../sources/Source.ts';
import type { KubeClient } from './KubeClient.ts';
import { ApiListerWatcher } from './ApiListerWatcher.ts';
import type { KubeObject } from './KubeObject.ts';
import { Reflector } from './Reflector.ts';
import type { InitialSyncMode, ReflectorObserver } from './Reflector.ts';
import { crdInfo, resolveTargets } from './resolveTargets.ts';
import type { CrdInfo, WatchTarget } from './resolveTargets.ts';

const CRD_TARGET = {
  id: 'apiextensions.k8s.io/v1/customresourcedefinitions',
  path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
};

export interface KubeSourceOptions {
  readonly client: KubeClient;
  readonly resources: readonly ResourceConfig[];
  readonly sink: ObjectSink;
  readonly logger: Logger;
  readonly observer?: ReflectorObserver;
  readonly minWatchTimeoutSeconds?: number;
  /** How collections are fetched at start and after a 410. @default 'watch-list' */
  readonly initialSync?: InitialSyncMode;
}

/**
 * Objects from a live API server: a reflector on CustomResourceDefinitions resolves the configured
 * kinds (wildcards included) to collections, and one reflector per collection keeps the cache in
 * step. A configured CRD that is not installed is reported once and picked up when it appears; a
 * CRD that is deleted (or stops serving a version) drops its series.
 */
export class KubeSource implements Source {
  readonly name: string;
  private readonly _o: KubeSourceOptions;
  private readonly _crds = new Map<string, CrdInfo>();
  private readonly _reflectors = new Map<string, Reflector>();
  private readonly _crdReflector: Reflector;
  private readonly _reportedMissing = new Set<string>();
  private _reconcileQueued = false;
  private _stopped = false;

  constructor(options: KubeSourceOptions) {
    this._o = options;
    this.name = `kubernetes:${options.client.server}`;
    this._crdReflector = new Reflector({
      listerWatcher: new ApiListerWatcher(options.client, CRD_TARGET),
      target: CRD_TARGET,
      initialSync: options.initialSync,
      logger: options.logger,
      observer: options.observer,
      minWatchTimeoutSeconds: options.minWatchTimeoutSeconds,
      handler: {
        upsert: (key, crd) => {
          const info = crdInfo(crd);
          if (info) this._crds.set(key, info);
          else this._crds.delete(key);
          this._queueReconcile();
        },
        delete: (key) => {
          this._crds.delete(key);
          this._queueReconcile();
        },
      },
    });
  }

  /** Synced when the CRDs are known and every installed, configured collection has been listed. */
  get synced(): boolean {
    if (!this._crdReflector.synced) return false;
    for (const r of this._reflectors.values()) if (!r.synced) return false;
    return true;
  }

  *targets(): Iterable<TargetStatus> {
    for (const r of [this._crdReflector, ...this._reflectors.values()]) {
      yield {
        id: r.target.id,
        synced: r.synced,
        state: r.state,
        objects: r.objectCount,
        lastSyncAt: r.lastSyncAt,
        lastActivityAt: r.lastActivityAt,
      };
    }
  }

  async start(): Promise<void> {
    this._crdReflector.start();
    let crdsListed = false;
    // Resolves once the CRD list and the lists it starts are done; the watches go on.
    while (!this._stopped) {
      if (!crdsListed && this._crdReflector.synced) {
        crdsListed = true;
        // The reconciles queued by the CRD list ran before the list counted as synced, so none of
        // them could tell a configured resource without a CRD from one not listed yet.
        this._reconcile();
      }
      if (this.synced) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this._stopped = true;
    // The client (and its connection pool) belongs to the caller: a reloaded config reuses it.
    await Promise.all([this._crdReflector.stop(), ...[...this._reflectors.values()].map((r) => r.stop())]);
  }

  private _queueReconcile(): void {
    if (this._reconcileQueued) return;
    this._reconcileQueued = true;
    // Batch a burst of CRD events (the initial list) into one reconcile.
    queueMicrotask(() => {
      this._reconcileQueued = false;
      this._reconcile();
    });
  }

  private _reconcile(): void {
    if (this._stopped) return;
    const { logger } = this._o;
    const wanted = resolveTargets(this._o.resources, this._crds.values());
    for (const [id, reflector] of this._reflectors) {
      if (wanted.has(id)) continue;
      this._reflectors.delete(id);
      logger.info({ target: id }, 'CRD removed or version no longer served; dropping its series');
      void reflector.stopAndDropObjects();
    }
    for (const [id, target] of wanted) {
      if (this._reflectors.has(id)) continue;
      const reflector = this._reflector(target);
      this._reflectors.set(id, reflector);
      reflector.start();
      logger.info({ target: id, kind: target.kind }, 'watching');
    }
    for (const resource of this._o.resources) {
      const gvk = resource.groupVersionKind;
      const label = `${gvk.group}/${gvk.version || '*'}/${gvk.kind || '*'}`;
      const found = [...wanted.values()].some(
        (t) =>
          t.group === gvk.group &&
          (gvk.kind === '' || gvk.kind === '*' || t.kind === gvk.kind) &&
          (gvk.version === '' || gvk.version === '*' || t.version === gvk.version),
      );
      if (!found && this._crdReflector.synced && !this._reportedMissing.has(label)) {
        this._reportedMissing.add(label);
        logger.warn(
          { resource: label },
          'configured resource has no installed CRD serving it; it will be picked up when one appears',
        );
      } else if (found) {
        this._reportedMissing.delete(label);
      }
    }
  }

  private _reflector(target: WatchTarget): Reflector {
    return new Reflector({
      listerWatcher: new ApiListerWatcher(this._o.client, target),
      target,
      initialSync: this._o.initialSync,
      logger: this._o.logger,
      observer: this._o.observer,
      minWatchTimeoutSeconds: this._o.minWatchTimeoutSeconds,
      handler: {
        upsert: (key: string, object: KubeObject) => pendingWork(this._o.sink.upsert(key, object, target.id)),
        delete: (key: string) => this._o.sink.delete(key),
      },
    });
  }
}
