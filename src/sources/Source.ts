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
}
