import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError } from '../../src/kube/classifyError.ts';
import { ContinueExpiredError, KubeApiError, WatchIdleError } from '../../src/kube/errors.ts';

const api = (status: number, message = 'x', reason?: string, retryAfter?: number) =>
  new KubeApiError(status, message, reason, retryAfter);

describe('classifyError', () => {
  const table: [string, unknown, Record<string, unknown>][] = [
    [
      '410 Gone',
      api(410, 'too old resource version', 'Expired'),
      { reason: 'expired', relist: true, delay: { kind: 'none' }, state: 'listing', level: 'info' },
    ],
    ['Expired reason without 410', api(500, 'x', 'Expired'), { reason: 'expired', relist: true }],
    ['Gone reason', api(500, 'x', 'Gone'), { reason: 'expired', relist: true }],
    [
      'too large resource version',
      api(504, 'Too large resource version: 12, current: 10', 'Timeout'),
      { reason: 'too-large-rv', relist: true, delay: { kind: 'backoff' }, state: 'listing' },
    ],
    [
      'expired continue token',
      new ContinueExpiredError(api(410, 'continue too old', 'Expired')),
      { reason: 'continue-expired', relist: true, delay: { kind: 'none' } },
    ],
    [
      '404',
      api(404, 'not found', 'NotFound'),
      {
        reason: 'not-found',
        relist: true,
        state: 'not-found',
        delay: { kind: 'backoff', capMs: 30_000 },
        level: 'info',
      },
    ],
    [
      '403',
      api(403, 'forbidden', 'Forbidden'),
      {
        reason: 'forbidden',
        relist: true,
        state: 'forbidden',
        delay: { kind: 'backoff', minMs: 10_000, capMs: 300_000 },
        level: 'warn',
      },
    ],
    [
      '401',
      api(401, 'Unauthorized', 'Unauthorized'),
      { reason: 'unauthorized', relist: false, refreshCredentials: true, state: 'backoff' },
    ],
    [
      '429 with Retry-After',
      api(429, 'slow down', 'TooManyRequests', 7),
      { reason: 'throttled', relist: false, delay: { kind: 'backoff', minMs: 7000 } },
    ],
    [
      '429 without Retry-After',
      api(429, 'slow down'),
      { reason: 'throttled', delay: { kind: 'backoff', minMs: 1000 } },
    ],
    [
      '500',
      api(500, 'etcdserver: request timed out', 'InternalError'),
      { reason: 'http-500', relist: false, state: 'backoff' },
    ],
    ['503', api(503, 'unavailable'), { reason: 'http-503', relist: false }],
    ['idle watch', new WatchIdleError(510_000), { reason: 'idle', relist: false, state: 'backoff' }],
    [
      'connection refused',
      new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      { reason: 'network', relist: false },
    ],
    ['socket closed', new TypeError('terminated'), { reason: 'network', relist: false }],
    ['not an Error at all', 'boom', { reason: 'network', relist: false, refreshCredentials: false }],
  ];
  for (const [name, err, expected] of table) {
    it(name, () => {
      const action = classifyError(err);
      for (const [field, value] of Object.entries(expected))
        assert.deepEqual(action[field as keyof typeof action], value, `${name}: ${field}`);
    });
  }

  it('is pure: the same error gives the same answer', () => {
    const err = api(429, 'slow', undefined, 3);
    assert.deepEqual(classifyError(err), classifyError(err));
  });
});
