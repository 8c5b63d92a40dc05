import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createGzip, gzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { acceptsGzip } from './negotiate.ts';
import { formatListenAddress } from './listenAddress.ts';
import type { ListenAddress } from './listenAddress.ts';
import type { RequestGuard } from './requestGuard.ts';

// Not an ESM import: its facade loads Node's bundled undici (eslint.config.js says why).
const { createServer } = process.getBuiltinModule('node:http');

const gzipAsync = promisify(gzip);

export interface HttpResponse {
  readonly status: number;
  readonly contentType: string;
  /** A string, or chunks streamed as they are produced (large scrapes). */
  readonly body: string | AsyncIterable<string>;
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
  // --- web config and auth filter hooks ---
  /** Builds the server; an https server when the web config has TLS. @default node:http createServer */
  readonly createServer?: (listener: RequestListener) => Server | HttpsServer;
  /** Runs before routing: headers for every response, or a 401/403 that ends the request. */
  readonly guard?: RequestGuard | undefined;
}

/**
 * A small HTTP server for the bridge's endpoints. Compression runs on libuv's thread pool
 * (zlib async), so a large scrape never stalls the event loop for it.
 */
export class HttpServer {
  private readonly _o: HttpServerOptions;
  private readonly _server: Server | HttpsServer;
  private _inFlight = 0;
  /** Write timeouts since the last one logged (logged at most once a minute). */
  private _timeoutsUnlogged = 0;
  private _timeoutLoggedAt = 0;

  constructor(options: HttpServerOptions) {
    this._o = options;
    this._server = (options.createServer ?? createServer)((req, res) => {
      this._handle(req, res).catch((err: unknown) => {
        options.logger.error({ err, path: req.url }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    });
    this._server.keepAliveTimeout = 65_000;
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
    const writeTimeoutMs = this._o.writeTimeoutMs ?? 60_000;
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
      await streamBody(response.body, res, gzipped);
    } finally {
      if (limited) this._inFlight--;
    }
  }
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
