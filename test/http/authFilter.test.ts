import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { authFilterGuard, bearerToken } from '../../src/http/authFilter.ts';
import type { AccessReviewer, ReviewedUser } from '../../src/http/authFilter.ts';

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

const request = (authorization?: string, method = 'GET') =>
  ({ method, headers: authorization ? { authorization } : {} }) as unknown as IncomingMessage;

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

  it('reads bearer tokens as the API server does', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer   abc'), 'abc');
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
  });
});
