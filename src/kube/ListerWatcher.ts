import type { KubeObject, WatchEvent } from './KubeObject.ts';

/** One list request (one page when `limit` is set). */
export interface ListRequest {
  /** Page size; absent: no pagination. */
  readonly limit?: number | undefined;
  readonly continue?: string | undefined;
  /** '' (a consistent read), '0' (any, from the watch cache) or a resourceVersion. */
  readonly resourceVersion?: string | undefined;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact' | undefined;
}

export interface ListPage {
  readonly items: KubeObject[];
  /** Token of the next page; absent on the last one. */
  readonly continue: string | undefined;
  readonly resourceVersion: string;
}

/** One watch request. */
export interface WatchRequest {
  readonly resourceVersion: string;
  /** The server ends the watch after this many seconds. */
  readonly timeoutSeconds: number;
  /**
   * Streaming list (WatchList): the server first sends the collection as ADDED events, then a
   * BOOKMARK annotated `k8s.io/initial-events-end`, then goes on as a normal watch.
   */
  readonly sendInitialEvents?: boolean | undefined;
}

/**
 * client-go's ListerWatcher: the two calls the reflector needs from an API server, for one
 * collection. Errors are thrown as `KubeApiError` (non-2xx answers) or anything else (network).
 */
export interface ListerWatcher {
  list(request: ListRequest, signal: AbortSignal): Promise<ListPage>;
  /** Resolves once the watch is established; the iterable ends when the server ends the stream. */
  watch(request: WatchRequest, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>>;
  /** Re-reads credentials (rotated tokens, kubeconfig) after a 401. */
  refreshCredentials?(): Promise<void>;
}
