import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BcryptPool } from './BcryptPool.ts';
import { BoundedChecks, ChecksBusyError, VerdictCache } from './boundedChecks.ts';

/**
 * What a check decided: `busy` when too many checks are pending (answer 429 at once),
 * `unavailable` when the comparison itself failed (a worker died: 503).
 */
export type BasicAuthVerdict = 'allowed' | 'denied' | 'busy' | 'unavailable';

export interface BasicAuthOptions {
  /** Where bcrypt runs (shared across reloads of the web config). @default a pool of its own */
  readonly pool?: BcryptPool;
  /** Successful credentials remembered (least recently used dropped first). @default 100 */
  readonly cacheSize?: number;
  /** bcrypt comparisons pending (queued or running) at most; more get `busy`. @default 4 per worker */
  readonly maxPending?: number;
  /** Comparisons one remote address may have pending. @default half of maxPending, at least 1 */
  readonly maxPendingPerClient?: number;
}

/** bcrypt's base64 alphabet (salt and hash characters). */
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface User {
  readonly digest: Buffer;
  readonly hash: string;
  /** A hash with this user's version and cost that no password matches (see `check`). */
  readonly decoy: string;
}

/**
 * Checks `Authorization: Basic` credentials against bcrypt hashes (exporter-toolkit's
 * `basic_auth_users`), without ever running bcrypt on the event loop:
 *
 * - comparisons run on worker threads (BcryptPool), at most `maxPending` at a time and at most
 *   `maxPendingPerClient` for one remote address; more are refused at once (`busy`), so a flood
 *   of wrong passwords costs a bounded amount of CPU and never delays other requests or probes;
 * - only successes are cached (keyed by an HMAC of user, hash and password under a per-process
 *   key, never the password itself), so failed attempts cannot push a working scraper's entry
 *   out; an entry lives as long as its web config (a new password or hash is a new key);
 * - an unknown user is compared against a decoy hash with the cost of a configured user (which
 *   one depends on the name), so no user name can be told apart by timing, whatever the costs.
 */
export class BasicAuthenticator {
  private readonly _users: readonly User[];
  private readonly _pool: BcryptPool;
  private readonly _ownPool: boolean;
  private readonly _successes: VerdictCache<true>;
  private readonly _checks: BoundedChecks<boolean>;
  private readonly _cacheKey = randomBytes(32);

  constructor(users: ReadonlyMap<string, string>, options: BasicAuthOptions = {}) {
    this._users = [...users].map(([user, hash]) => ({ digest: sha256(user), hash, decoy: decoyHash(hash) }));
    this._ownPool = options.pool === undefined;
    this._pool = options.pool ?? new BcryptPool();
    this._successes = new VerdictCache(options.cacheSize ?? 100);
    const maxPending = options.maxPending ?? 4 * this._pool.size;
    this._checks = new BoundedChecks({
      maxPending,
      maxPendingPerClient: options.maxPendingPerClient ?? Math.max(1, Math.floor(maxPending / 2)),
    });
  }

  get enabled(): boolean {
    return this._users.length > 0;
  }

  /** Checks the header; `client` (the remote address) shares out the pending checks. */
  async check(authorization: string | undefined, client = ''): Promise<BasicAuthVerdict> {
    const credentials = parseBasicAuth(authorization);
    if (!credentials || this._users.length === 0) return 'denied';
    const { user, password } = credentials;
    // Compare against every user in constant time per comparison (fixed-length digests), so the
    // time taken does not depend on how much of a user name matched.
    const wanted = sha256(user);
    let match: User | undefined;
    for (const u of this._users) if (timingSafeEqual(u.digest, wanted)) match = u;
    const hash = match?.hash ?? this._users[wanted.readUInt32BE(0) % this._users.length]!.decoy;
    const key = createHmac('sha256', this._cacheKey)
      .update(user)
      .update('\0')
      .update(hash)
      .update('\0')
      .update(password)
      .digest('base64');
    if (match && this._successes.get(key)) return 'allowed';
    let ok: boolean;
    try {
      ok = await this._checks.run(key, client, () => this._pool.compare(password, hash));
    } catch (err) {
      return err instanceof ChecksBusyError ? 'busy' : 'unavailable';
    }
    if (!ok || !match) return 'denied';
    this._successes.set(key, true, Infinity);
    return 'allowed';
  }

  /** Stops the workers of a pool this authenticator made itself. */
  async close(): Promise<void> {
    if (this._ownPool) await this._pool.close();
  }
}

/**
 * A well-formed bcrypt hash with the same version and cost as `hash` and a random salt and
 * digest: comparing any password with it takes as long as with `hash` and never succeeds.
 */
export function decoyHash(hash: string): string {
  const prefix = /^\$2[abxy]?\$\d\d\$/.exec(hash)?.[0] ?? '$2b$10$';
  const bytes = randomBytes(53);
  let rest = '';
  for (const b of bytes) rest += BCRYPT_ALPHABET[b & 63];
  return prefix + rest;
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
