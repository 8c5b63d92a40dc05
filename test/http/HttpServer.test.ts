import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { HttpServer } from '../../src/http/HttpServer.ts';
import type { HttpServerOptions, RouteHandler } from '../../src/http/HttpServer.ts';
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

  it('serves pipelined requests of one connection one at a time, in order, holding one scrape slot', async () => {
    let running = 0;
    let mostRunning = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await started({
      maxInFlight: 2,
      limitedPaths: new Set(['/metrics']),
      routes: new Map<string, RouteHandler>([
        [
          '/metrics',
          async (req) => {
            running++;
            mostRunning = Math.max(mostRunning, running);
            await held;
            running--;
            return { status: 200, contentType: 'text/plain', body: `scrape ${String(req.headers['x-n'])}\n` };
          },
        ],
      ]),
    });
    try {
      const socket = await open(server.port);
      const received = collect(socket);
      socket.write(
        Array.from({ length: 10 }, (_, n) => `GET /metrics HTTP/1.1\r\nHost: x\r\nX-N: ${n}\r\n\r\n`).join(
          '',
        ),
      );
      await delay(200);
      assert.equal(running, 1, 'one request of the pipeline at a time');
      // The pipeline holds one of the two slots: another client's scrape is served, not refused.
      const other = httpRequest(`http://127.0.0.1:${server.port}/metrics`, { headers: { 'x-n': 'other' } });
      await delay(100);
      assert.equal(running, 2);
      release();
      assert.equal((await other).status, 200);
      await until(() => (received().match(/scrape \d/g) ?? []).length === 10);
      assert.deepEqual(
        received().match(/scrape \d/g),
        Array.from({ length: 10 }, (_, n) => `scrape ${n}`),
      );
      assert.equal(mostRunning, 2);
      socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('closes a connection that pipelines more than it may queue', { timeout: 10_000 }, async () => {
    let calls = 0;
    const server = await started({
      routes: new Map<string, RouteHandler>([
        [
          '/slow',
          async () => {
            calls++;
            await delay(300);
            return { status: 200, contentType: 'text/plain', body: 'ok\n' };
          },
        ],
      ]),
    });
    try {
      const socket = await open(server.port);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100));
      await closed;
      assert.ok(calls <= 1, `${calls} handlers ran`);
    } finally {
      await server.close();
    }
  });

  it(
    'closes silent and slow-header connections after the header timeout, idle ones after the idle timeout',
    { timeout: 10_000 },
    async () => {
      const server = await started({
        headerTimeoutMs: 300,
        idleTimeoutMs: 300,
        routes: new Map<string, RouteHandler>([
          ['/small', () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' })],
        ]),
      });
      try {
        const silent = await open(server.port);
        const slow = await open(server.port);
        slow.write('GET /small HTTP/1.1\r\nHost: x\r\n');
        const idle = await open(server.port);
        const idleReceived = collect(idle);
        idle.write('GET /small HTTP/1.1\r\nHost: x\r\n\r\n');
        const began = Date.now();
        const closedAfter = (socket: Socket) =>
          new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - began)));
        // Node's defaults hold such connections 60 s or more (the test's timeout is 10 s).
        const ms = await Promise.all([closedAfter(silent), closedAfter(slow), closedAfter(idle)]);
        assert.match(idleReceived(), /^HTTP\/1\.1 200/);
        // Node looks for expired header timeouts once a second.
        for (const t of ms) assert.ok(t >= 250 && t < 5_000, `closed after ${t} ms`);
      } finally {
        await server.close();
      }
    },
  );

  it('refuses timeouts Node timers cannot hold (they would fire after 1 ms)', () => {
    assert.throws(
      () => new HttpServer({ ...base(), writeTimeoutMs: 2 ** 31 }),
      /writeTimeoutMs 2147483648 is outside/,
    );
    assert.throws(() => new HttpServer({ ...base(), idleTimeoutMs: -1 }), /idleTimeoutMs -1 is outside/);
    assert.doesNotThrow(() => new HttpServer({ ...base(), writeTimeoutMs: 2 ** 31 - 1 }));
  });
});

function base(): HttpServerOptions {
  return {
    name: 'test',
    address: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    routes: new Map(),
  };
}

async function started(options: Partial<HttpServerOptions>): Promise<HttpServer> {
  const server = new HttpServer({ ...base(), ...options });
  await server.listen();
  return server;
}

/** A raw connection, read as data arrives (so its close is seen). */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
    socket.resume();
  });
}

/** Everything the socket receives so far, as text. */
function collect(socket: Socket): () => string {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await delay(20);
  }
}
