import type { Logger } from 'pino';
import type { ResourceConfig } from '../config/types.ts';
import { formatGvk, matchesGvk } from '../model/gvk.ts';
import { CallbackSink } from '../sources/CallbackSink.ts';
import type { ObjectSink, Source, TargetStatus } from '../sources/Source.ts';
import type { KubeClient } from './KubeClient.ts';
import { ApiListerWatcher } from './ApiListerWatcher.ts';
import type { ListerWatcher } from './ListerWatcher.ts';
import { Reflector } from './Reflector.ts';
import type { ReflectorTarget } from './Reflector.ts';
import type { InitialSyncMode, ReflectorObserver } from './Reflector.ts';
import type { Clock } from '../runtime/Clock.ts';
import { crdInfo, resolveTargets } from './resolveTargets.ts';
import type { CrdInfo } from './resolveTargets.ts';

const CRD_TARGET = {
  id: 'apiextensions.k8s.io/v1/customresourcedefinitions',
  path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
};

export interface KubeSourceOptions {
  /** The API server's address, for the source's name. */
  readonly server: string;
  /** The ListerWatcher of a collection (CRDs included). Tests pass fakes. */
  readonly listerWatcher: (target: ReflectorTarget) => ListerWatcher;
  readonly resources: readonly ResourceConfig[];
  readonly sink: ObjectSink;
  readonly logger: Logger;
  readonly observer?: ReflectorObserver;
  readonly minWatchTimeoutSeconds?: number;
  /** How collections are fetched at start and after a 410. @default 'watch-list' */
  readonly initialSync?: InitialSyncMode;
  /** Passed to every reflector (tests: a fake clock). @default the system clock */
  readonly clock?: Clock;
}

/** The ListerWatcher factory of a real API server. */
export function apiListerWatchers(client: KubeClient): (target: ReflectorTarget) => ListerWatcher {
  return (target) => new ApiListerWatcher(client, target);
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
    this.name = `kubernetes:${options.server}`;
    this._crdReflector = this._reflector(
      CRD_TARGET,
      new CallbackSink({
        upsert: (key, crd) => {
          const info = crdInfo(crd as Record<string, unknown>);
          if (info) this._crds.set(key, info);
          else this._crds.delete(key);
          this._queueReconcile();
        },
        delete: (key) => {
          this._crds.delete(key);
          this._queueReconcile();
        },
      }),
    );
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
        presumedDead: r.presumedDead,
      };
    }
  }

  /** Resolves once the CRD list and the lists it starts are done; the watches go on. */
  async start(): Promise<void> {
    this._crdReflector.start();
    if (!(await this._crdReflector.whenSynced())) return;
    // The reconciles queued by the CRD list ran before it counted as synced, so none of them
    // could tell a configured resource without a CRD from one not listed yet.
    this._reconcile();
    // CRD events may add or remove collections meanwhile: wait for whatever is wanted now.
    for (;;) {
      const listing = [...this._reflectors.values()].filter((r) => !r.synced);
      if (listing.length === 0 || this._stopped) return;
      await Promise.all(listing.map((r) => r.whenSynced()));
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

  redeliver(keys: readonly string[]): void {
    for (const [id, reflector] of this._reflectors)
      if (keys.some((key) => key.startsWith(`${id}|`))) reflector.requestRelist();
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
      const reflector = this._reflector(target, this._o.sink);
      this._reflectors.set(id, reflector);
      reflector.start();
      logger.info({ target: id, kind: target.kind }, 'watching');
    }
    for (const resource of this._o.resources) {
      const gvk = resource.groupVersionKind;
      const label = formatGvk(gvk);
      const found = [...wanted.values()].some((t) => matchesGvk(gvk, t.group, t.version, t.kind));
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

  private _reflector(target: ReflectorTarget, sink: ObjectSink): Reflector {
    const o = this._o;
    return new Reflector({
      listerWatcher: o.listerWatcher(target),
      target,
      sink,
      initialSync: o.initialSync,
      logger: o.logger,
      observer: o.observer,
      minWatchTimeoutSeconds: o.minWatchTimeoutSeconds,
      clock: o.clock,
    });
  }
}
