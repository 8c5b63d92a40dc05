import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { promisify } from 'node:util';
import { createGzip, gzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { acceptsGzip } from './negotiate.ts';
import { formatListenAddress } from './listenAddress.ts';
import type { ListenAddress } from './listenAddress.ts';
import type { RequestGuard } from './requestGuard.ts';
import { isEncodedBody } from '../exposition/ExpositionBody.ts';
import type { EncodedBody } from '../exposition/ExpositionBody.ts';

// Not an ESM import: its facade loads Node's bundled undici (eslint.config.js says why).
const { createServer } = process.getBuiltinModule('node:http');

const gzipAsync = promisify(gzip);

export interface HttpResponse {
  readonly status: number;
  readonly contentType: string;
  /**
   * A string, chunks streamed as they are produced, or a body kept encoded and compressed ahead
   * (a scrape: written as it is, never compressed here).
   */
  readonly body: string | AsyncIterable<string> | EncodedBody;
  /** Compress when the client accepts gzip (metrics bodies; not small status pages). */
  readonly compressible?: boolean;
}

export type RouteHandler = (request: IncomingMessage) => Promise<HttpResponse> | HttpResponse;

/** A handler for GET and HEAD, or one for the methods listed (e.g. POST /-/reload). */
export type Route = RouteHandler | { readonly methods: readonly string[]; readonly handler: RouteHandler };

export interface HttpServerOptions {
  readonly name: string;
  readonly address: ListenAddress;
  readonly routes: ReadonlyMap<string, Route>;
  readonly logger: Logger;
  /** Paths counted against `maxInFlight` (the scrape endpoints). */
  readonly limitedPaths?: ReadonlySet<string>;
  /** Parallel requests on limited paths; 0 = unlimited. @default 10 */
  readonly maxInFlight?: number;
  /**
   * Longest time a response may take to write, as Go's http.Server WriteTimeout: a client that
   * reads too slowly is cut off, so it cannot pin a scrape's memory or its slot. 0 = none.
   * @default 60000
   */
  readonly writeTimeoutMs?: number;
  /**
   * Longest time a client may take to send a request's headers, from the connection's start (or,
   * on a kept-alive connection, from the request's first byte): Go's ReadHeaderTimeout, 5 s in
   * kube-state-metrics and resource-state-metrics. A silent or slow connection gets 408 and is
   * closed.
   * @default 5000
   */
  readonly headerTimeoutMs?: number;
  /** Longest time to receive a whole request, body included (Go's ReadTimeout). @default 10000 */
  readonly requestTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept for the client's next request. @default 5000 */
  readonly idleTimeoutMs?: number;
  // --- web config and auth filter hooks ---
  /** Builds the server; an https server when the web config has TLS. @default node:http createServer */
  readonly createServer?: (listener: RequestListener) => Server | HttpsServer;
  /** Runs before routing: headers for every response, or a 401/403 that ends the request. */
  readonly guard?: RequestGuard | undefined;
}

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Pipelined requests one connection may have waiting behind the one being served; a client that
 * sends more is cut off (no scraper pipelines, and each waiting request holds memory).
 */
const MAX_PIPELINED = 16;

/** How often Node looks for connections past the header or request timeout. */
const CONNECTION_CHECK_MS = 1000;

/** The requests of one connection: served one at a time, in order. */
interface ConnectionQueue {
  busy: boolean;
  /** Reading stopped by this server (not by Node's own back-pressure). */
  paused: boolean;
  readonly waiting: (() => void)[];
}

/**
 * A small HTTP server for the bridge's endpoints. Compression runs on libuv's thread pool
 * (zlib async), so a large scrape never stalls the event loop for it.
 *
 * A connection has one request in flight at a time, as in Go's net/http: Node parses pipelined
 * requests as they arrive and would run their handlers at once, so one connection could take
 * every `maxInFlight` slot. Here the next request of a connection starts when the previous
 * response is done, and the connection is not read meanwhile.
 */
export class HttpServer {
  private readonly _o: HttpServerOptions;
  private readonly _server: Server | HttpsServer;
  private readonly _connections = new WeakMap<Socket, ConnectionQueue>();
  private _inFlight = 0;
  /** Write timeouts since the last one logged (logged at most once a minute). */
  private _timeoutsUnlogged = 0;
  private _timeoutLoggedAt = 0;

  constructor(options: HttpServerOptions) {
    const timeouts = {
      writeTimeoutMs: options.writeTimeoutMs ?? 60_000,
      headerTimeoutMs: options.headerTimeoutMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
    };
    for (const [name, ms] of Object.entries(timeouts)) {
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMER_MS)
        throw new RangeError(`${options.name}: ${name} ${ms} is outside 0..${MAX_TIMER_MS} ms`);
    }
    this._o = options;
    this._server = (options.createServer ?? createServer)((req, res) => this._enqueue(req, res));
    // Node checks the header and request timeouts every CONNECTION_CHECK_MS (set before listen).
    Object.assign(this._server, {
      headersTimeout: timeouts.headerTimeoutMs,
      requestTimeout: Math.max(timeouts.requestTimeoutMs, timeouts.headerTimeoutMs),
      keepAliveTimeout: timeouts.idleTimeoutMs,
      connectionsCheckingInterval: CONNECTION_CHECK_MS,
    });
  }

  async listen(): Promise<string> {
    const { host, port } = this._o.address;
    await new Promise<void>((resolve, reject) => {
      this._server.once('error', reject);
      this._server.listen(port, host, () => {
        this._server.off('error', reject);
        resolve();
      });
    });
    return formatListenAddress(this._server.address() as AddressInfo);
  }

  get port(): number {
    return (this._server.address() as AddressInfo).port;
  }

  /**
   * Stops accepting connections and lets requests in flight finish; after `graceMs` the ones still
   * running are cut (their clients see a truncated body, never a hang).
   */
  async close(graceMs = 800): Promise<void> {
    if (!this._server.listening) return;
    const closed = new Promise<void>((resolve) => this._server.close(() => resolve()));
    this._server.closeIdleConnections();
    const timer = setTimeout(() => this._server.closeAllConnections(), graceMs);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Serves the request now, or after the requests before it on the same connection. */
  private _enqueue(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    let queue = this._connections.get(socket);
    if (!queue) {
      queue = { busy: false, paused: false, waiting: [] };
      this._connections.set(socket, queue);
    }
    if (!queue.busy) {
      this._serve(req, res, queue);
      return;
    }
    if (queue.waiting.length >= MAX_PIPELINED) {
      socket.destroy();
      return;
    }
    // Stop reading the connection until its turn comes (Node's own pipelining back-pressure
    // does the same on the socket; what is already read is parsed and waits here).
    socket.pause();
    queue.paused = true;
    queue.waiting.push(() => this._serve(req, res, queue));
  }

  private _serve(req: IncomingMessage, res: ServerResponse, queue: ConnectionQueue): void {
    queue.busy = true;
    res.once('close', () => {
      queue.busy = false;
      const socket = req.socket;
      if (socket.destroyed) {
        queue.waiting.length = 0;
        return;
      }
      const next = queue.waiting.shift();
      if (next) next();
      else if (queue.paused) {
        queue.paused = false;
        socket.resume();
      }
    });
    this._handle(req, res).catch((err: unknown) => {
      this._o.logger.error({ err, path: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  }

  private async _handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (this._o.guard) {
      const verdict = await this._o.guard(req, path);
      for (const [name, value] of Object.entries(verdict.headers ?? {})) res.setHeader(name, value);
      if (verdict.deny) {
        res.writeHead(verdict.deny.status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(verdict.deny.body);
        return;
      }
    }
    const route = this._o.routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    const methods = typeof route === 'function' ? ['GET', 'HEAD'] : route.methods;
    const handler = typeof route === 'function' ? route : route.handler;
    if (!methods.includes(req.method ?? 'GET')) {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: methods.join(', ') });
      res.end(
        typeof route === 'function'
          ? 'method not allowed\n'
          : `Only ${methods.join(' or ')} requests allowed\n`,
      );
      return;
    }
    const writeTimeoutMs = this._o.writeTimeoutMs ?? 60_000; // range checked by the constructor
    if (writeTimeoutMs > 0) {
      const timer = setTimeout(() => {
        res.destroy();
        this._timeoutsUnlogged++;
        if (Date.now() - this._timeoutLoggedAt < 60_000) return;
        this._o.logger.warn(
          {
            path,
            remote: req.socket.remoteAddress,
            timeoutMs: writeTimeoutMs,
            connections: this._timeoutsUnlogged,
          },
          'response not written within the write timeout; connection closed (client reading too slowly?)',
        );
        this._timeoutLoggedAt = Date.now();
        this._timeoutsUnlogged = 0;
      }, writeTimeoutMs);
      timer.unref();
      res.once('close', () => clearTimeout(timer));
    }
    const limited = this._o.limitedPaths?.has(path) ?? false;
    const max = this._o.maxInFlight ?? 10;
    if (limited && max > 0 && this._inFlight >= max) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`limit of concurrent requests reached (${max}), try again later\n`);
      return;
    }
    if (limited) this._inFlight++;
    try {
      const response = await handler(req);
      const gzipped = response.compressible === true && acceptsGzip(req.headers['accept-encoding']);
      const headers: Record<string, string> = { 'content-type': response.contentType };
      if (response.compressible) headers.vary = 'Accept, Accept-Encoding';
      if (gzipped) headers['content-encoding'] = 'gzip';
      if (typeof response.body === 'string') {
        const body = gzipped ? await gzipAsync(response.body) : response.body;
        headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
        res.writeHead(response.status, headers);
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(response.status, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (isEncodedBody(response.body))
        await writeBuffers(
          gzipped ? response.body.gzipBatches(requesterOf(req)) : response.body.plain(),
          res,
        );
      else await streamBody(response.body, res, gzipped);
    } finally {
      if (limited) this._inFlight--;
    }
  }
}

/**
 * Who asked, the same at each scrape from one scraper: its address (not the port, which changes
 * with each connection) and user agent.
 */
function requesterOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? ''} ${req.headers['user-agent'] ?? ''}`;
}

/** Writes chunks with backpressure; gzip runs as a stream on libuv's thread pool. */
async function streamBody(
  chunks: AsyncIterable<string>,
  res: ServerResponse,
  gzipped: boolean,
): Promise<void> {
  let sink: Writable = res;
  if (gzipped) {
    const zip = createGzip();
    zip.pipe(res);
    sink = zip;
  }
  for await (const chunk of chunks) {
    if (res.destroyed) return;
    if (!sink.write(chunk)) await drainedOrClosed(sink, res);
  }
  sink.end();
  if (gzipped) await once(res, 'finish');
}

/**
 * Bytes queued on the socket before waiting for it to drain. The buffers are already in memory
 * (kept by the cache), so queueing several costs no copy; waiting at every write would cost an
 * event-loop turn per chunk.
 */
const QUEUED_BYTES = 8 << 20;

/**
 * Buffers smaller than this are gathered into one write: a gzip body is hundreds of pieces of a
 * few KiB, and each write costs a chunk header and a trip through the socket's write path.
 */
const GATHER_BYTES = 64 << 10;

/** Gathering buffers kept for reuse: what a few scrapes queue on their sockets. */
const GATHER_BUFFERS_KEPT = (2 * QUEUED_BYTES) / GATHER_BYTES;

/**
 * The buffers small pieces are gathered into, reused once their socket has taken them. A buffer
 * allocated at every write lives outside V8's heap, and enough of those start a full collection
 * of the whole cache.
 */
const gatherBuffers: Buffer[] = [];

/**
 * Writes buffers kept ready (one at a time, or several ready at once), with backpressure; stops if
 * the client goes away.
 */
async function writeBuffers(
  items: AsyncIterable<Buffer | readonly Buffer[]>,
  res: ServerResponse,
): Promise<void> {
  let gather: Buffer | undefined;
  let gathered = 0;
  const writeGathered = () => {
    if (gather === undefined || gathered === 0) return;
    const full = gather;
    res.write(full.subarray(0, gathered), () => {
      if (gatherBuffers.length < GATHER_BUFFERS_KEPT) gatherBuffers.push(full);
    });
    gather = undefined;
    gathered = 0;
  };
  for await (const item of items) {
    if (res.destroyed) return;
    for (const buffer of Buffer.isBuffer(item) ? [item] : item) {
      if (buffer.length < GATHER_BYTES) {
        if (gather !== undefined && gathered + buffer.length > GATHER_BYTES) writeGathered();
        gather ??= gatherBuffers.pop() ?? Buffer.allocUnsafeSlow(GATHER_BYTES);
        gathered += buffer.copy(gather, gathered);
        if (gathered === GATHER_BYTES) writeGathered();
      } else {
        writeGathered();
        res.write(buffer);
      }
    }
    if (res.writableLength >= QUEUED_BYTES) await drainedOrClosed(res, res);
  }
  if (res.destroyed) return;
  writeGathered();
  res.end();
  await once(res, 'finish');
}

/**
 * Waits for backpressure to clear; a client that goes away mid-scrape ends the wait too. The
 * listeners are removed either way (one wait per chunk would otherwise pile them up).
 */
async function drainedOrClosed(sink: Writable, res: ServerResponse): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(sink, 'drain', { signal: done.signal }),
      once(res, 'close', { signal: done.signal }),
    ]);
  } finally {
    done.abort();
  }
}
