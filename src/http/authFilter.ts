import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
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
  /** Decisions remembered at most (oldest dropped first). @default 1024 */
  readonly cacheSize?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

const UNAUTHORIZED: GuardVerdict = {
  headers: { 'www-authenticate': 'Bearer' },
  deny: { status: 401, body: 'Unauthorized\n' },
};

/**
 * `--auth-filter`: kube-state-metrics' (controller-runtime's) authentication and authorization
 * filter. Every path but the health probes needs `Authorization: Bearer <token>`; the token is
 * checked with a TokenReview and its user's right to the request's verb (lowercase HTTP method)
 * on the path with a SubjectAccessReview. No or a rejected token: 401; not allowed: 403; API
 * server unreachable: 503 (nothing cached). Decisions are cached briefly under a digest of token,
 * verb and path, so a scrape every few seconds costs at most one review pair per TTL.
 */
export function authFilterGuard(options: AuthFilterOptions): RequestGuard {
  const allowTtl = options.allowTtlMs ?? 10_000;
  const denyTtl = options.denyTtlMs ?? 5_000;
  const size = options.cacheSize ?? 1024;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { verdict: GuardVerdict; until: number }>();
  const remember = (key: string, verdict: GuardVerdict, ttl: number) => {
    cache.delete(key);
    cache.set(key, { verdict, until: now() + ttl });
    while (cache.size > size) cache.delete(cache.keys().next().value as string);
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
    const cached = cache.get(key);
    if (cached && cached.until > now()) return cached.verdict;
    try {
      const user = await options.reviewer.authenticate(token);
      if (!user) {
        remember(key, UNAUTHORIZED, denyTtl);
        return UNAUTHORIZED;
      }
      const { allowed, reason } = await options.reviewer.authorize(user, verb, path);
      if (allowed) {
        remember(key, {}, allowTtl);
        return {};
      }
      const forbidden: GuardVerdict = {
        deny: {
          status: 403,
          body: `Forbidden (user=${user.username}, verb=${verb}, resource=, subresource=)${reason ? `: ${reason}` : ''}\n`,
        },
      };
      remember(key, forbidden, denyTtl);
      return forbidden;
    } catch (err) {
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
