import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { authFilterGuard, bearerToken } from '../../src/http/authFilter.ts';
import type { AccessReviewer, ReviewedUser } from '../../src/http/authFilter.ts';
import type { GuardVerdict } from '../../src/http/requestGuard.ts';

/** A reviewer behind the seam: tokens map to users, users to allowed paths; calls are counted. */
class ScriptedReviewer implements AccessReviewer {
  calls = { authenticate: 0, authorize: 0 };
  failing = false;
  private readonly _users: Record<string, string>;
  private readonly _allowed: Record<string, string[]>;
  constructor(users: Record<string, string>, allowed: Record<string, string[]>) {
    this._users = users;
    this._allowed = allowed;
  }
  authenticate(token: string): Promise<ReviewedUser | undefined> {
    this.calls.authenticate++;
    if (this.failing) return Promise.reject(new Error('connection refused'));
    const username = this._users[token];
    return Promise.resolve(username === undefined ? undefined : { username });
  }
  authorize(user: ReviewedUser, verb: string, path: string): Promise<{ allowed: boolean; reason: string }> {
    this.calls.authorize++;
    return Promise.resolve({
      allowed: verb === 'get' && (this._allowed[user.username] ?? []).includes(path),
      reason: '',
    });
  }
}

const request = (authorization?: string, method = 'GET', remoteAddress = '10.0.0.1') =>
  ({
    method,
    headers: authorization ? { authorization } : {},
    socket: { remoteAddress },
  }) as unknown as IncomingMessage;

/** A reviewer whose answers wait until `release()`: reviews stay in flight meanwhile. */
class HeldReviewer implements AccessReviewer {
  started: string[] = [];
  private _waiting: (() => void)[] = [];
  authenticate(token: string): Promise<ReviewedUser | undefined> {
    this.started.push(token);
    return new Promise((resolve) =>
      this._waiting.push(() => resolve(token.startsWith('good') ? { username: 'prom' } : undefined)),
    );
  }
  authorize(): Promise<{ allowed: boolean; reason: string }> {
    return Promise.resolve({ allowed: true, reason: '' });
  }
  release(): void {
    for (const answer of this._waiting.splice(0)) answer();
  }
}

/** Settles each promise to its status now (pending ones as 'pending'). */
async function statuses(verdicts: (GuardVerdict | Promise<GuardVerdict>)[]): Promise<(number | 'pending')[]> {
  const pending = Symbol('pending');
  const tick = new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending)));
  return Promise.all(
    verdicts.map(async (v) => {
      const r = await Promise.race([v, tick]);
      return r === pending ? 'pending' : (r.deny?.status ?? 200);
    }),
  );
}

describe('authFilterGuard', () => {
  it('401 without or with a rejected token, 403 when not allowed, pass when allowed; probes exempt', async () => {
    const reviewer = new ScriptedReviewer({ good: 'prom', other: 'bob' }, { prom: ['/metrics'] });
    const guard = authFilterGuard({ reviewer, logger: pino({ level: 'silent' }) });
    assert.equal((await guard(request(), '/metrics')).deny?.status, 401);
    assert.equal((await guard(request('Bearer nope'), '/metrics')).deny?.status, 401);
    assert.equal((await guard(request('Basic abc'), '/metrics')).deny?.status, 401);
    assert.equal((await guard(request('Bearer other'), '/metrics')).deny?.status, 403);
    assert.equal((await guard(request('Bearer good'), '/metrics')).deny, undefined);
    assert.equal((await guard(request('Bearer good'), '/')).deny?.status, 403);
    assert.equal((await guard(request('Bearer good', 'HEAD'), '/metrics')).deny?.status, 403);
    assert.equal((await guard(request(), '/readyz')).deny, undefined);
  });

  it('caches allowed decisions for allowTtlMs and denials for denyTtlMs; errors are 503 and not cached', async () => {
    let now = 0;
    const reviewer = new ScriptedReviewer({ good: 'prom', other: 'bob' }, { prom: ['/metrics'] });
    const guard = authFilterGuard({
      reviewer,
      logger: pino({ level: 'silent' }),
      allowTtlMs: 10_000,
      denyTtlMs: 1_000,
      now: () => now,
    });
    await guard(request('Bearer good'), '/metrics');
    await guard(request('Bearer good'), '/metrics');
    assert.deepEqual(reviewer.calls, { authenticate: 1, authorize: 1 });
    now = 10_001;
    await guard(request('Bearer good'), '/metrics');
    assert.deepEqual(reviewer.calls, { authenticate: 2, authorize: 2 });
    await guard(request('Bearer other'), '/metrics');
    now += 500;
    assert.equal((await guard(request('Bearer other'), '/metrics')).deny?.status, 403);
    assert.deepEqual(reviewer.calls, { authenticate: 3, authorize: 3 });
    now += 600;
    await guard(request('Bearer other'), '/metrics');
    assert.deepEqual(reviewer.calls, { authenticate: 4, authorize: 4 });
    reviewer.failing = true;
    assert.equal((await guard(request('Bearer new'), '/metrics')).deny?.status, 503);
    reviewer.failing = false;
    assert.equal((await guard(request('Bearer new'), '/metrics')).deny?.status, 401);
  });

  it('keeps at most cacheSize decisions', async () => {
    const reviewer = new ScriptedReviewer({}, {});
    const guard = authFilterGuard({ reviewer, logger: pino({ level: 'silent' }), cacheSize: 3 });
    for (let i = 0; i < 10; i++) await guard(request(`Bearer t${i}`), '/metrics');
    await guard(request('Bearer t0'), '/metrics');
    assert.equal(reviewer.calls.authenticate, 11);
  });

  it('one review per token in flight, a bounded number in flight overall and per client; more get 429 at once', async () => {
    const reviewer = new HeldReviewer();
    const guard = authFilterGuard({
      reviewer,
      logger: pino({ level: 'silent' }),
      maxPendingReviews: 4,
      maxPendingPerClient: 3,
    });
    const sameToken = [1, 2, 3].map(() => guard(request('Bearer good-a'), '/metrics'));
    assert.deepEqual(reviewer.started, ['good-a'], 'one TokenReview for three requests with one token');
    const flood = Array.from({ length: 10 }, (_, i) => guard(request(`Bearer x${i}`), '/metrics'));
    // good-a holds one of client 10.0.0.1's three slots: two more start, the other eight get 429.
    assert.deepEqual(await statuses(flood), ['pending', 'pending', ...Array.from({ length: 8 }, () => 429)]);
    const busy = await flood[9]!;
    assert.equal(busy.headers?.['retry-after'], '1');
    // Another client gets the last slot; then the filter is full for everyone.
    const other = guard(request('Bearer good-b', 'GET', '10.0.0.2'), '/metrics');
    const full = guard(request('Bearer good-c', 'GET', '10.0.0.3'), '/metrics');
    assert.deepEqual(await statuses([other, full]), ['pending', 429]);
    assert.equal(reviewer.started.length, 4, 'no review started for a refused request');
    reviewer.release();
    assert.deepEqual(await statuses([...sameToken, other]), [200, 200, 200, 200]);
    assert.deepEqual(await statuses(flood.slice(0, 2)), [401, 401]);
  });

  it('limits reviews started per second (a burst of as many)', async () => {
    let now = 0;
    const reviewer = new ScriptedReviewer({}, {});
    const guard = authFilterGuard({
      reviewer,
      logger: pino({ level: 'silent' }),
      reviewsPerSecond: 5,
      now: () => now,
    });
    const burst = [];
    for (let i = 0; i < 8; i++) burst.push((await guard(request(`Bearer a${i}`), '/metrics')).deny?.status);
    assert.deepEqual(burst, [401, 401, 401, 401, 401, 429, 429, 429]);
    assert.equal(reviewer.calls.authenticate, 5);
    now += 400; // two more tokens in the bucket
    const later = [];
    for (let i = 0; i < 3; i++) later.push((await guard(request(`Bearer b${i}`), '/metrics')).deny?.status);
    assert.deepEqual(later, [401, 401, 429]);
  });

  it('denials cannot push allowed decisions out of the cache', async () => {
    const reviewer = new ScriptedReviewer({ good: 'prom' }, { prom: ['/metrics'] });
    const guard = authFilterGuard({ reviewer, logger: pino({ level: 'silent' }), cacheSize: 3 });
    assert.equal((await guard(request('Bearer good'), '/metrics')).deny, undefined);
    for (let i = 0; i < 10; i++) await guard(request(`Bearer random${i}`), '/metrics');
    const before = reviewer.calls.authenticate;
    assert.equal((await guard(request('Bearer good'), '/metrics')).deny, undefined);
    assert.equal(reviewer.calls.authenticate, before, 'the allowed decision was still cached');
  });

  it('a token allowed before is reviewed again even while strangers fill every slot', async () => {
    let now = 0;
    const reviewer = new HeldReviewer();
    const guard = authFilterGuard({
      reviewer,
      logger: pino({ level: 'silent' }),
      maxPendingReviews: 2,
      now: () => now,
    });
    const first = guard(request('Bearer good-prom'), '/metrics');
    reviewer.release();
    assert.equal((await first).deny, undefined);
    now += 10_001; // the allowed decision expired
    const strangers = [1, 2, 3].map((i) => guard(request(`Bearer s${i}`, 'GET', `10.0.1.${i}`), '/metrics'));
    assert.deepEqual(await statuses(strangers), ['pending', 'pending', 429]);
    const again = guard(request('Bearer good-prom'), '/metrics');
    assert.deepEqual(await statuses([again]), ['pending'], 'reviewed, not refused');
    reviewer.release();
    assert.deepEqual(await statuses([again]), [200]);
  });

  it('reads bearer tokens as the API server does', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer   abc'), 'abc');
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
  });
});
