import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

/**
 * A valid bcrypt hash (cost 10) of a password nobody sends: checked for unknown users so that a
 * request for a missing user takes as long as one for an existing user (no user enumeration by
 * timing), as exporter-toolkit does.
 */
const DECOY_HASH = '$2b$10$.wOI3jx/VvrbSqJiK64s7Ot1ceBbUtLoLnfKaunU1Ji0G29b/oMUG';

export interface BasicAuthOptions {
  /** Remembered (user, hash, password) verdicts. @default 100 */
  readonly cacheSize?: number;
  /** How long a verdict is remembered, in ms. @default 60000 */
  readonly cacheTtlMs?: number;
}

/**
 * Checks `Authorization: Basic` credentials against bcrypt hashes (exporter-toolkit's
 * `basic_auth_users`). bcrypt is slow on purpose (tens of ms per check), so verdicts are cached
 * briefly under a digest of user, hash and password (never the password itself), and checks run
 * one at a time so a flood of bad passwords cannot take every core.
 */
export class BasicAuthenticator {
  private readonly _users: readonly { digest: Buffer; hash: string }[];
  private readonly _cache = new Map<string, { ok: boolean; until: number }>();
  private readonly _size: number;
  private readonly _ttl: number;
  private _queue: Promise<unknown> = Promise.resolve();

  constructor(users: ReadonlyMap<string, string>, options: BasicAuthOptions = {}) {
    this._users = [...users].map(([user, hash]) => ({ digest: sha256(user), hash }));
    this._size = options.cacheSize ?? 100;
    this._ttl = options.cacheTtlMs ?? 60_000;
  }

  get enabled(): boolean {
    return this._users.length > 0;
  }

  /** True when the header carries a known user with the right password. */
  async check(authorization: string | undefined): Promise<boolean> {
    const credentials = parseBasicAuth(authorization);
    if (!credentials) return false;
    const { user, password } = credentials;
    // Compare against every user in constant time per comparison (fixed-length digests), so the
    // time taken does not depend on how much of a user name matched.
    const wanted = sha256(user);
    let hash: string | undefined;
    for (const u of this._users) if (timingSafeEqual(u.digest, wanted)) hash = u.hash;
    const known = hash !== undefined;
    const checked = hash ?? DECOY_HASH;
    const key = createHash('sha256')
      .update(user)
      .update('\0')
      .update(checked)
      .update('\0')
      .update(password)
      .digest('base64');
    const now = Date.now();
    const cached = this._cache.get(key);
    if (cached && cached.until > now) return known && cached.ok;
    const ok = await this._serial(() => bcrypt.compare(password, checked));
    this._remember(key, ok, now);
    return known && ok;
  }

  private _serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this._queue.then(task, task);
    this._queue = run.catch(() => undefined);
    return run;
  }

  private _remember(key: string, ok: boolean, now: number): void {
    this._cache.delete(key);
    this._cache.set(key, { ok, until: now + this._ttl });
    // Maps iterate in insertion order: the first key is the oldest.
    while (this._cache.size > this._size) this._cache.delete(this._cache.keys().next().value as string);
  }
}

/** `Basic base64(user:password)`, as Go's Request.BasicAuth reads it; undefined if malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const encoded = header.slice(6);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
