import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface CountingProxy {
  /** https://127.0.0.1:port, serving with the API server's own certificate. */
  readonly url: string;
  /** Connections from the client open now, and the most open at once. */
  readonly connections: { open: number; peak: number };
  /** Requests by path (query left out): how many arrived, how many were in flight at most. */
  requests(path: string): { total: number; peakInFlight: number };
  /** Forgets the counts (connections open stay counted as open). */
  reset(): void;
  stop(): Promise<void>;
}

/**
 * A TLS-terminating proxy in front of a real kube-apiserver that counts what a client sends it:
 * connections (open and peak) and requests per path (total and peak in flight). Requests are
 * re-originated with the client's own headers, so bearer tokens pass through; bodies are streamed
 * both ways, so watches work.
 */
export async function startCountingProxy(options: {
  upstream: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}): Promise<CountingProxy> {
  const upstream = new URL(options.upstream);
  const ca = readFileSync(options.caFile);
  const agent = new https.Agent({ keepAlive: true, ca });
  const connections = { open: 0, peak: 0 };
  let byPath = new Map<string, { total: number; inFlight: number; peakInFlight: number }>();
  const sockets = new Set<Socket>();
  const server = https.createServer(
    { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) },
    (req, res) => {
      const url = new URL(req.url ?? '/', upstream);
      let counts = byPath.get(url.pathname);
      if (!counts) {
        counts = { total: 0, inFlight: 0, peakInFlight: 0 };
        byPath.set(url.pathname, counts);
      }
      const counted = counts;
      counted.total++;
      counted.inFlight++;
      counted.peakInFlight = Math.max(counted.peakInFlight, counted.inFlight);
      res.once('close', () => counted.inFlight--);
      const forwarded = https.request(
        url,
        { method: req.method, headers: { ...req.headers, host: upstream.host }, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('error', () => res.destroy());
        },
      );
      forwarded.on('error', () => res.destroy());
      res.on('close', () => forwarded.destroy());
      req.pipe(forwarded);
    },
  );
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    connections.open++;
    connections.peak = Math.max(connections.peak, connections.open);
    socket.once('close', () => {
      sockets.delete(socket);
      connections.open--;
    });
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    connections,
    requests(path) {
      const c = byPath.get(path);
      return { total: c?.total ?? 0, peakInFlight: c?.peakInFlight ?? 0 };
    },
    reset() {
      byPath = new Map();
      connections.peak = connections.open;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
