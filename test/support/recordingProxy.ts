import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedExchange {
  readonly path: string;
  readonly accept: string;
  readonly contentType: string;
  readonly status: number;
}

export interface RecordingProxy {
  /** host:port to scrape instead of the target. */
  readonly address: string;
  readonly exchanges: RecordedExchange[];
  close(): Promise<void>;
}

/**
 * A transparent HTTP proxy in front of a real server that records each request's Accept header and
 * the response's Content-Type: proof of what a real scraper negotiated.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const exchanges: RecordedExchange[] = [];
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      `http://${target}${req.url ?? '/'}`,
      { method: req.method, headers: { ...req.headers, host: target } },
      (up) => {
        exchanges.push({
          path: req.url ?? '/',
          accept: String(req.headers.accept ?? ''),
          contentType: String(up.headers['content-type'] ?? ''),
          status: up.statusCode ?? 0,
        });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
