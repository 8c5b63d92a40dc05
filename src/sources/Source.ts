/** Where a source delivers object events (the ObjectIngestor in the running bridge). */
export interface ObjectSink {
  upsert(key: string, object: unknown, origin?: string): unknown;
  delete(key: string): unknown;
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
}

/** Status of one watched collection (Kubernetes sources), for self-metrics. */
export interface TargetStatus {
  readonly id: string;
  readonly synced: boolean;
  readonly state: string;
  readonly objects: number;
  /** Epoch ms of the last completed list (0: never). */
  readonly lastSyncAt: number;
  /** Epoch ms of the last list, event or bookmark (0: never). */
  readonly lastActivityAt: number;
}

/** Counters a source reports as it lists and watches. */
export interface SourceTelemetry {
  list(target: string, result: 'success' | 'error', objects: number): void;
  watch(target: string, result: 'success' | 'error'): void;
  event(target: string, type: string): void;
  restart(target: string, reason: string): void;
  handlerError(target: string): void;
}
