import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { HttpServer } from '../../src/http/HttpServer.ts';
import type { RouteHandler } from '../../src/http/HttpServer.ts';
import { chainGuards } from '../../src/http/requestGuard.ts';
import type { RequestGuard } from '../../src/http/requestGuard.ts';
import { httpRequest } from '../harness/processes.ts';

describe('HttpServer guard hook', () => {
  it('adds the guard headers to every response and ends denied requests before routing', async () => {
    const headers: RequestGuard = () => ({ headers: { 'x-content-type-options': 'nosniff' } });
    const auth: RequestGuard = (req, path) =>
      path === '/healthz' || req.headers.authorization === 'let me in'
        ? {}
        : { headers: { 'www-authenticate': 'Basic' }, deny: { status: 401, body: 'Unauthorized\n' } };
    let routed = 0;
    const server = new HttpServer({
      name: 'test',
      address: { host: '127.0.0.1', port: 0 },
      logger: pino({ level: 'silent' }),
      guard: chainGuards([headers, auth]),
      routes: new Map<string, RouteHandler>([
        ['/metrics', () => (routed++, { status: 200, contentType: 'text/plain', body: 'm 1\n' })],
        ['/healthz', () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' })],
      ]),
    });
    await server.listen();
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const denied = await httpRequest(`${base}/metrics`);
      assert.equal(denied.status, 401);
      assert.equal(denied.headers['www-authenticate'], 'Basic');
      assert.equal(denied.headers['x-content-type-options'], 'nosniff');
      assert.equal(routed, 0);
      // Unknown paths are behind the guard too (no probing for routes).
      assert.equal((await httpRequest(`${base}/nope`)).status, 401);
      const ok = await httpRequest(`${base}/metrics`, { headers: { authorization: 'let me in' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'm 1\n');
      assert.equal(ok.headers['x-content-type-options'], 'nosniff');
      const probe = await httpRequest(`${base}/healthz`);
      assert.equal(probe.status, 200);
      assert.equal(probe.headers['x-content-type-options'], 'nosniff');
    } finally {
      await server.close();
    }
  });

  it('chainGuards: none gives no guard; the first denial wins', async () => {
    assert.equal(chainGuards([]), undefined);
    const chain = chainGuards([
      () => ({ headers: { a: '1' } }),
      () => ({ deny: { status: 403, body: 'no\n' } }),
      () => assert.fail('not reached'),
    ])!;
    assert.deepEqual(await chain({} as never, '/'), {
      headers: { a: '1' },
      deny: { status: 403, body: 'no\n' },
    });
  });
});
