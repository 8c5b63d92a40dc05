/**
 * Where a source delivers objects. Every object belongs to a scope: the collection it was listed
 * from, or the file it was read from. Keys are unique across scopes.
 *
 * `upsert` may return a promise when it took the object on but is still working on it (a large
 * object, generated in slices): the source waits for it before delivering its next event, so a
 * stream of large objects is read only as fast as it is processed (backpressure). Such a promise
 * never rejects, and no method throws for a bad object.
 *
 * The sync contract: a source that delivers the complete state of a scope (an initial list, a
 * relist, a re-read file) says so with `beginSync` and `endSync`; the sink then deletes the keys of
 * that scope it did not get again. The relist diff lives in the sink, once.
 */
export interface ObjectSink {
  /** Adds or replaces the object under `key`. `origin` names it in messages. @default origin: scope */
  upsert(scope: string, key: string, object: unknown, origin?: string): unknown;
  delete(scope: string, key: string): unknown;
  /**
   * The complete state of `scope` follows (again: an unfinished listing is abandoned). `live`: its
   * differences are changes as they happen (a file rewritten), not a state replayed after a gap
   * (an initial list, a relist), which history-keeping families (health transitions) do not count.
   */
  beginSync(scope: string, options?: { readonly live?: boolean }): void;
  /** The listing of `scope` is complete: its keys not upserted since `beginSync` are deleted. */
  endSync(scope: string): void;
  /** Deletes every object of `scope` (its collection or file is gone). */
  dropScope(scope: string): void;
  /** Objects of `scope` delivered and not deleted. */
  objectCount(scope: string): number;
}

/** The promise a sink returned to ask its source to wait (see ObjectSink), if it did. */
export function pendingWork(result: unknown): PromiseLike<unknown> | undefined {
  return typeof (result as PromiseLike<unknown> | undefined)?.then === 'function'
    ? (result as PromiseLike<unknown>)
    : undefined;
}

/** A source of objects: files, or a Kubernetes API server. */
export interface Source {
  readonly name: string;
  /** True once the initial state has been delivered (gates /readyz). */
  readonly synced: boolean;
  /** Delivers the initial state, then keeps watching until `stop`. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The collections behind this source, if it has several (Kubernetes). */
  targets?(): Iterable<TargetStatus>;
  /**
   * Delivers again, as they are now, the objects under `keys` that this source delivered (a
   * relist of their collection, a re-read of their file): the sink refused them for want of
   * room and kept only their identity. Keys of other sources are ignored.
   */
  redeliver?(keys: readonly string[]): void;
}

/** Status of one watched collection (Kubernetes sources), for self-metrics. */
export interface TargetStatus {
  readonly id: string;
  readonly synced: boolean;
  readonly state: string;
  readonly objects: number;
  /** Epoch ms of the last completed list (0: never). */
  readonly lastSyncAt: number;
  /** Epoch ms of the last list, event, bookmark or watch ended by the server (0: never). */
  readonly lastActivityAt: number;
  /**
   * Set, with why, while the collection's watch is presumed dead (silent past its deadline) and no
   * new one is established: its objects may be stale, so it is not ready.
   */
  readonly presumedDead?: string | undefined;
}

/** Counters a source reports as it lists and watches. */
export interface SourceTelemetry {
  list(target: string, result: 'success' | 'error', objects: number): void;
  watch(target: string, result: 'success' | 'error'): void;
  event(target: string, type: string): void;
  restart(target: string, reason: string): void;
  handlerError(target: string): void;
}
