/** A non-2xx answer from the API server (or a watch ERROR event), with what retry logic needs. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, message: string, reason?: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A list's continue token expired between two pages (410 on a later page): list again from the start. */
export class ContinueExpiredError extends Error {
  override readonly cause: KubeApiError;

  constructor(cause: KubeApiError) {
    super(`continue token expired between pages (${cause.message}); listing again`);
    this.name = 'ContinueExpiredError';
    this.cause = cause;
  }
}

/** A watch stayed silent well past its own timeout: the connection is presumed dead. */
export class WatchIdleError extends Error {
  constructor(idleMs: number) {
    super(`watch silent for ${Math.round(idleMs / 1000)} s, past its timeout`);
    this.name = 'WatchIdleError';
  }
}
