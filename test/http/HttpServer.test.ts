import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { HttpServer } from '../../src/http/HttpServer.ts';
import type { RouteHandler } from '../../src/http/HttpServer.ts';
import { httpRequest } from '../harness/processes.ts';

async function* slowChunks(): AsyncGenerator<string> {
  for (let i = 0; i < 5; i++) {
    await delay(40);
    yield `line ${i}\n`;
  }
}

describe('HttpServer', () => {
  it('streams chunked bodies, gzips them when asked, answers HEAD, 404 and 405, and caps parallel scrapes', async () => {
    const server = new HttpServer({
      name: 'test',
      address: { host: '127.0.0.1', port: 0 },
      logger: pino({ level: 'silent' }),
      limitedPaths: new Set(['/metrics']),
      maxInFlight: 2,
      routes: new Map<string, RouteHandler>([
        [
          '/metrics',
          () => ({
            status: 200,
            contentType: 'text/plain; version=0.0.4; charset=utf-8',
            body: slowChunks(),
            compressible: true,
          }),
        ],
        ['/small', () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' })],
      ]),
    });
    await server.listen();
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const plain = await httpRequest(`${base}/metrics`);
      assert.equal(plain.body, 'line 0\nline 1\nline 2\nline 3\nline 4\n');
      assert.equal(plain.headers['transfer-encoding'], 'chunked');
      const raw = await new Promise<Buffer>((resolve, reject) => {
        import('node:http')
          .then(({ get }) =>
            get(`${base}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
              assert.equal(res.headers['content-encoding'], 'gzip');
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve(Buffer.concat(chunks)));
            }).on('error', reject),
          )
          .catch(reject);
      });
      assert.equal(gunzipSync(raw).toString(), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
      assert.equal((await httpRequest(`${base}/small`, { method: 'HEAD' })).body, '');
      assert.equal((await httpRequest(`${base}/nope`)).status, 404);
      assert.equal((await httpRequest(`${base}/small`, { method: 'POST' })).status, 405);
      const parallel = await Promise.all([1, 2, 3, 4].map(() => httpRequest(`${base}/metrics`)));
      assert.deepEqual(parallel.map((r) => r.status).sort(), [200, 200, 503, 503]);
      assert.match(
        parallel.find((r) => r.status === 503)!.body,
        /limit of concurrent requests reached \(2\)/,
      );
    } finally {
      await server.close();
    }
  });
});
