import { ContinueExpiredError, KubeApiError, WatchIdleError } from './errors.ts';

/** What the reflector is doing; reported per target in `crd_metrics_bridge_target_synced{state}`. */
export type ReflectorState = 'listing' | 'watching' | 'backoff' | 'not-found' | 'forbidden' | 'stopped';

/** How long to wait before the next attempt. */
export type RetryDelay =
  /** At once (a relist after 410 is the normal way forward, not a fault). */
  | { readonly kind: 'none' }
  /** The reflector's backoff (800 ms doubling, 30 s cap), at least `minMs` (Retry-After). */
  | { readonly kind: 'backoff'; readonly minMs?: number; readonly capMs?: number };

/** The reflector's answer to one failed list or watch. */
export interface FailureAction {
  /** Label of `crd_metrics_bridge_reflector_restarts_total{reason}`. */
  readonly reason: string;
  /**
   * Forget the resourceVersion and list again with a consistent read. Otherwise the reflector
   * re-watches from the resourceVersion it has (or lists, if it has none yet).
   */
  readonly relist: boolean;
  readonly delay: RetryDelay;
  readonly state: ReflectorState;
  /** Re-read credentials (a rotated token) before retrying. */
  readonly refreshCredentials: boolean;
  /** Expected in normal operation (info) or a fault worth a warning. */
  readonly level: 'info' | 'warn';
}

const NOT_FOUND_CAP_MS = 30_000;
const FORBIDDEN_MIN_MS = 10_000;
const FORBIDDEN_CAP_MS = 300_000;

/**
 * Classifies a list or watch failure as client-go's reflector does. Pure: the same error always
 * gives the same action, so every case is a table test.
 *
 * - 410 Gone / Expired, and "too large resource version" (a lagging HA API server): relist.
 * - An expired continue token between pages: list again from the start.
 * - 404: the collection is gone (its CRD was removed); retry slowly while the CRD reflector
 *   decides whether to stop this one.
 * - 403: RBAC denies it; retry slowly (10 s to 5 min) until access is granted.
 * - 401: re-read credentials, then retry with backoff.
 * - 429: wait at least Retry-After.
 * - Anything else (5xx, network errors, idle watches): back off and re-watch from the last
 *   resourceVersion, so no list is needed.
 */
export function classifyError(err: unknown): FailureAction {
  const backoff: RetryDelay = { kind: 'backoff' };
  const plain = {
    relist: false,
    delay: backoff,
    state: 'backoff',
    refreshCredentials: false,
    level: 'warn',
  } as const;
  if (err instanceof ContinueExpiredError)
    return {
      ...plain,
      reason: 'continue-expired',
      relist: true,
      delay: { kind: 'none' },
      state: 'listing',
      level: 'info',
    };
  if (err instanceof WatchIdleError) return { ...plain, reason: 'idle' };
  if (!(err instanceof KubeApiError)) return { ...plain, reason: 'network' };
  if (/too large resource version/i.test(err.message))
    return { ...plain, reason: 'too-large-rv', relist: true, state: 'listing' };
  if (err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone')
    return {
      ...plain,
      reason: 'expired',
      relist: true,
      delay: { kind: 'none' },
      state: 'listing',
      level: 'info',
    };
  switch (err.status) {
    case 404:
      return {
        ...plain,
        reason: 'not-found',
        relist: true,
        delay: { kind: 'backoff', capMs: NOT_FOUND_CAP_MS },
        state: 'not-found',
        level: 'info',
      };
    case 403:
      return {
        ...plain,
        reason: 'forbidden',
        relist: true,
        delay: { kind: 'backoff', minMs: FORBIDDEN_MIN_MS, capMs: FORBIDDEN_CAP_MS },
        state: 'forbidden',
      };
    case 401:
      return { ...plain, reason: 'unauthorized', refreshCredentials: true };
    case 429:
      return {
        ...plain,
        reason: 'throttled',
        delay: { kind: 'backoff', minMs: (err.retryAfterSeconds ?? 1) * 1000 },
      };
    default:
      return { ...plain, reason: `http-${err.status}` };
  }
}
