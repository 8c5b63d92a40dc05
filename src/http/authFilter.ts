import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { BoundedChecks, ChecksBusyError, VerdictCache } from './boundedChecks.ts';
import { PROBE_PATHS } from './requestGuard.ts';
import type { GuardVerdict, RequestGuard } from './requestGuard.ts';

/** Who a bearer token belongs to, as the API server's TokenReview says. */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** Authentication and authorization questions the auth filter asks (a seam for unit tests). */
export interface AccessReviewer {
  /** The token's user, or undefined when the API server does not accept the token. */
  authenticate(token: string): Promise<ReviewedUser | undefined>;
  /** Whether the user may use `verb` on the non-resource URL `path`. */
  authorize(user: ReviewedUser, verb: string, path: string): Promise<{ allowed: boolean; reason: string }>;
}

export interface AuthFilterOptions {
  readonly reviewer: AccessReviewer;
  readonly logger: Logger;
  /** How long an allowed decision is remembered, in ms. @default 10000 */
  readonly allowTtlMs?: number;
  /** How long a denial (401 or 403) is remembered, in ms. @default 5000 */
  readonly denyTtlMs?: number;
  /** Decisions remembered at most, allowed and denied ones each (oldest dropped first). @default 1024 */
  readonly cacheSize?: number;
  /** Reviews (TokenReview, then SubjectAccessReview) in flight at most; more get 429. @default 8 */
  readonly maxPendingReviews?: number;
  /** Reviews in flight for one remote address at most. @default 2 */
  readonly maxPendingPerClient?: number;
  /** Reviews started per second at most (burst of as many); more get 429. @default 20 */
  readonly reviewsPerSecond?: number;
  /**
   * How long a token, verb and path that were allowed stay trusted: when the decision expires,
   * their next review skips the bounds above, so strangers flooding the filter cannot lock out
   * a scraper that was let in before. @default 600000
   */
  readonly trustTtlMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

const UNAUTHORIZED: GuardVerdict = {
  headers: { 'www-authenticate': 'Bearer' },
  deny: { status: 401, body: 'Unauthorized\n' },
};

const BUSY: GuardVerdict = {
  headers: { 'retry-after': '1' },
  deny: { status: 429, body: 'too many token reviews in progress, try again later\n' },
};

/**
 * `--auth-filter`: kube-state-metrics' (controller-runtime's) authentication and authorization
 * filter. Every path but the health probes needs `Authorization: Bearer <token>`; the token is
 * checked with a TokenReview and its user's right to the request's verb (lowercase HTTP method)
 * on the path with a SubjectAccessReview. No or a rejected token: 401; not allowed: 403; API
 * server unreachable: 503 (nothing cached).
 *
 * Decisions are cached under a digest of token, verb and path (allowed and denied ones in
 * separate caches, so denials cannot push allowed decisions out), so a scrape every few seconds
 * costs at most one review pair per TTL. Unknown tokens cannot make the bridge fan out to the API
 * server: one review per token in flight, a bounded number in flight overall and per client, a
 * bounded number started per second; beyond that 429 at once, with no request to the API server.
 */
export function authFilterGuard(options: AuthFilterOptions): RequestGuard {
  const allowTtl = options.allowTtlMs ?? 10_000;
  const denyTtl = options.denyTtlMs ?? 5_000;
  const trustTtl = options.trustTtlMs ?? 600_000;
  const size = options.cacheSize ?? 1024;
  const now = options.now ?? Date.now;
  const allowed = new VerdictCache<GuardVerdict>(size, now);
  const denied = new VerdictCache<GuardVerdict>(size, now);
  const trusted = new VerdictCache<true>(size, now);
  const checks = new BoundedChecks<GuardVerdict>({
    maxPending: options.maxPendingReviews ?? 8,
    maxPendingPerClient: options.maxPendingPerClient ?? 2,
    ratePerSecond: options.reviewsPerSecond ?? 20,
    now,
  });

  const review = async (key: string, token: string, verb: string, path: string): Promise<GuardVerdict> => {
    const user = await options.reviewer.authenticate(token);
    if (!user) {
      denied.set(key, UNAUTHORIZED, denyTtl);
      return UNAUTHORIZED;
    }
    const { allowed: ok, reason } = await options.reviewer.authorize(user, verb, path);
    if (ok) {
      allowed.set(key, {}, allowTtl);
      trusted.set(key, true, trustTtl);
      return {};
    }
    const forbidden: GuardVerdict = {
      deny: {
        status: 403,
        body: `Forbidden (user=${user.username}, verb=${verb}, resource=, subresource=)${reason ? `: ${reason}` : ''}\n`,
      },
    };
    denied.set(key, forbidden, denyTtl);
    return forbidden;
  };

  return async (request, path) => {
    if (PROBE_PATHS.has(path)) return {};
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) return UNAUTHORIZED;
    const verb = (request.method ?? 'GET').toLowerCase();
    const key = createHash('sha256')
      .update(token)
      .update('\0')
      .update(verb)
      .update('\0')
      .update(path)
      .digest('base64');
    const cached = allowed.get(key) ?? denied.get(key);
    if (cached) return cached;
    try {
      return await checks.run(
        key,
        request.socket.remoteAddress ?? '',
        () => review(key, token, verb, path),
        trusted.get(key) === true,
      );
    } catch (err) {
      if (err instanceof ChecksBusyError) return BUSY;
      options.logger.warn({ err: (err as Error).message, path }, 'auth filter: cannot review the token');
      return { deny: { status: 503, body: 'cannot check the token with the API server, try again later\n' } };
    }
  };
}

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
