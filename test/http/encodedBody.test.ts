import { connect } from 'node:net';
import { get } from 'node:http';
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { HttpServer } from '../../src/http/HttpServer.ts';
import type { RouteHandler } from '../../src/http/HttpServer.ts';
import { BlockChunks } from '../../src/exposition/BlockChunks.ts';
import { ExpositionBody } from '../../src/exposition/ExpositionBody.ts';

/** A family of `objects` blocks in chunks, as the cache keeps them. */
function family(objects: number): BlockChunks {
  const chunks = new BlockChunks(64 * 1024);
  for (let i = 0; i < objects; i++)
    chunks.set(`k${i}`, {
      text: `m_size_bytes{namespace="ns-${i % 13}",name="object-${i}",target="s3://b/${i}"} ${i}\n`,
      points: [],
    });
  return chunks;
}

function fetchRaw(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    get(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function serve(route: RouteHandler, writeTimeoutMs = 60_000): Promise<HttpServer> {
  const server = new HttpServer({
    name: 'test',
    address: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    limitedPaths: new Set(['/metrics']),
    maxInFlight: 1,
    writeTimeoutMs,
    routes: new Map([['/metrics', route]]),
  });
  await server.listen();
  return server;
}

describe('HttpServer with bodies kept encoded', () => {
  it('writes the buffers as they are, or their gzip form, the same body either way', async () => {
    const chunks = family(100_000);
    const route: RouteHandler = () => ({
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: new ExpositionBody(() => [
        '# HELP m_size_bytes x\n# TYPE m_size_bytes gauge\n',
        ...chunks.snapshot(),
      ]),
      compressible: true,
    });
    const server = await serve(route);
    try {
      const url = `http://127.0.0.1:${server.port}/metrics`;
      const plain = await fetchRaw(url);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(plain.body.length > 5 * 2 ** 20, `${plain.body.length} bytes`);
      const expected =
        '# HELP m_size_bytes x\n# TYPE m_size_bytes gauge\n' +
        [...chunks.values()].map((b) => b.text).join('');
      assert.equal(plain.body.toString(), expected);
      const zipped = await fetchRaw(url, { 'accept-encoding': 'gzip' });
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.ok(zipped.body.length < plain.body.length / 5);
      assert.deepEqual(gunzipSync(zipped.body), plain.body);
      // A change after a scrape shows in the next one, compressed or not.
      chunks.set('k5', { text: 'm_size_bytes{name="changed"} 1\n', points: [] });
      const again = gunzipSync((await fetchRaw(url, { 'accept-encoding': 'gzip' })).body).toString();
      assert.ok(again.includes('m_size_bytes{name="changed"} 1\n'));
      assert.ok(!again.includes('name="object-5"'));
    } finally {
      await server.close();
    }
  });

  it('gathers small compressed pieces into buffers it reuses from scrape to scrape', async () => {
    const chunks = family(100_000);
    const snapshot = chunks.snapshot();
    // Compressed one by one, as the cache's background pass leaves a quiet cache: small pieces.
    for (const chunk of snapshot) await chunk.deflated();
    const route: RouteHandler = () => ({
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: new ExpositionBody(() => snapshot),
      compressible: true,
    });
    const server = await serve(route);
    const bigAllocations: number[] = [];
    const scrape = async (counting: boolean) => {
      // Parts kept apart until the spies are gone: the client runs in this process too.
      const parts: Buffer[] = [];
      const spies = counting
        ? [
            mock.method(Buffer, 'allocUnsafe'),
            mock.method(Buffer, 'allocUnsafeSlow'),
            mock.method(Buffer, 'concat'),
          ]
        : [];
      try {
        await new Promise<void>((resolve, reject) => {
          get(
            `http://127.0.0.1:${server.port}/metrics`,
            { headers: { 'accept-encoding': 'gzip' } },
            (res) => {
              res.on('data', (c: Buffer) => parts.push(c));
              res.on('end', resolve);
              res.on('error', reject);
            },
          ).on('error', reject);
        });
      } finally {
        for (const spy of spies) {
          for (const call of spy.mock.calls) {
            const size = call.result instanceof Uint8Array ? call.result.length : 0;
            if (size >= 16 << 10) bigAllocations.push(size);
          }
          spy.mock.restore();
        }
      }
      return gunzipSync(Buffer.concat(parts)).toString();
    };
    try {
      const expected = snapshot.map((c) => c.bytes().toString()).join('');
      assert.ok(snapshot.length > 100, `${snapshot.length} pieces`);
      assert.equal(await scrape(false), expected);
      assert.equal(await scrape(true), expected);
      // A buffer allocated outside V8's heap at every scrape adds up to full collections. One may
      // be: the last write of the first scrape can still be on its way back when its client has
      // read everything.
      assert.ok(bigAllocations.length <= 1, `buffers of 16 KiB or more allocated: ${bigAllocations.length}`);
    } finally {
      await server.close();
    }
  });

  it('cuts off a client that reads too slowly and frees its slot', { timeout: 20_000 }, async () => {
    const chunks = family(200_000);
    // Later requests get a small body: they show the slot is free, and must not themselves
    // depend on writing megabytes within the short timeout on a busy machine.
    const small = family(1_000);
    let requests = 0;
    const server = await serve(
      () => ({
        status: 200,
        contentType: 'text/plain',
        body: new ExpositionBody(() => (requests++ === 0 ? chunks : small).snapshot()),
        compressible: true,
      }),
      500,
    );
    try {
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.pause(); // reads nothing: the body cannot be written within the timeout
      let received = 0;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Cut off by now: the one slot is free again (else 503) and serves a whole body.
      const next = await fetchRaw(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(next.body.toString(), [...small.values()].map((b) => b.text).join(''));
      const whole = [...chunks.values()].map((b) => b.text).join('');
      socket.on('data', (c: Buffer) => (received += c.length));
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
      assert.ok(received < Buffer.byteLength(whole), `the slow client got ${received} bytes, not all`);
    } finally {
      await server.close();
    }
  });

  it('tells the body who asks for gzip: the address and user agent, the same at each scrape', async () => {
    const asked: string[] = [];
    const route: RouteHandler = () => ({
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: new ExpositionBody(() => ['m 1\n'], { onGzip: (requester) => asked.push(requester) }),
      compressible: true,
    });
    const server = await serve(route);
    try {
      const url = `http://127.0.0.1:${server.port}/metrics`;
      for (let i = 0; i < 2; i++) {
        const { body } = await fetchRaw(url, { 'accept-encoding': 'gzip', 'user-agent': 'Prometheus/3.5.0' });
        assert.equal(gunzipSync(body).toString(), 'm 1\n');
      }
      await fetchRaw(url, { 'user-agent': 'curl/8' }); // plain text: not a gzip scrape
      assert.deepEqual(asked, ['127.0.0.1 Prometheus/3.5.0', '127.0.0.1 Prometheus/3.5.0']);
    } finally {
      await server.close();
    }
  });
});
