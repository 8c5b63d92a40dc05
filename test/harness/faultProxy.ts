import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './ports.ts';

/** An answer the proxy gives instead of forwarding, to the next `times` matching requests. */
export interface InjectedFault {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** A Kubernetes Status object is built from `reason` and `message` when no body is given. */
  readonly reason?: string;
  readonly message?: string;
  /** @default 1 */
  readonly times?: number;
  /** Which requests it applies to. @default every request */
  readonly match?: (method: string, url: URL) => boolean;
}

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  /** The status the client got (injected or from the API server); 0 if the connection was cut. */
  status: number;
  readonly injected: boolean;
  /** Epoch ms when the request arrived. */
  readonly at: number;
}

export interface FaultProxyHandle {
  /** https://127.0.0.1:port, serving with the API server's own certificate. */
  readonly url: string;
  readonly requests: readonly ProxiedRequest[];
  /** Answers the next matching requests with a fault instead of forwarding them. */
  inject(fault: InjectedFault): void;
  /** Cuts every open connection (client and upstream), as a network failure would. */
  cutConnections(): void;
  /** While down, new connections are reset at once. */
  setDown(down: boolean): void;
  /**
   * Silently stops forwarding every response in progress (a watch's included), both ways, while
   * keeping its connection open: as a proxy or NAT whose upstream side died without a word, the
   * client's TCP connection stays healthy (its keepalive probes are answered) but nothing more
   * arrives on it. Requests that arrive later are forwarded as usual (see `setBlackHole`).
   */
  freezeOpenResponses(): void;
  /** While on, new requests are accepted and never answered nor forwarded (a black hole). */
  setBlackHole(on: boolean): void;
  stop(): Promise<void>;
}

/**
 * A TLS-terminating proxy between the bridge and a real kube-apiserver that can inject faults.
 * It serves with the API server's certificate (so the bridge's kubeconfig, pointed at the proxy,
 * trusts it with the same CA) and re-originates each request to the API server with the client's
 * own headers, so bearer-token authentication (a ServiceAccount kubeconfig) passes through; client
 * certificates do not. Bodies are streamed both ways, so watches work.
 */
export async function startFaultProxy(options: {
  upstream: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}): Promise<FaultProxyHandle> {
  const upstream = new URL(options.upstream);
  const ca = readFileSync(options.caFile);
  const faults: (InjectedFault & { left: number })[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const upstreamRequests = new Set<ReturnType<typeof https.request>>();
  let down = false;
  let blackHole = false;
  /** Forwarding in progress: stop() on each cuts the pipes both ways, leaving the sockets open. */
  const forwarding = new Set<{ freeze(): void }>();
  /** Requests swallowed by the black hole, kept open until the proxy stops. */
  const swallowed = new Set<ServerResponse>();

  const server = https.createServer(
    { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) },
    (req: IncomingMessage, res: ServerResponse) => {
      if (down) {
        req.socket.destroy();
        return;
      }
      const url = new URL(req.url ?? '/', upstream);
      const method = req.method ?? 'GET';
      if (blackHole) {
        requests.push({ method, url: url.pathname + url.search, status: 0, injected: true, at: Date.now() });
        swallowed.add(res);
        res.on('close', () => swallowed.delete(res));
        return;
      }
      const fault = faults.find((f) => f.left > 0 && (f.match?.(method, url) ?? true));
      if (fault) {
        fault.left--;
        requests.push({
          method,
          url: url.pathname + url.search,
          status: fault.status,
          injected: true,
          at: Date.now(),
        });
        const body = JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: fault.message ?? `injected ${fault.status}`,
          reason: fault.reason ?? '',
          code: fault.status,
        });
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(body);
        req.resume();
        return;
      }
      const record: ProxiedRequest = {
        method,
        url: url.pathname + url.search,
        status: 0,
        injected: false,
        at: Date.now(),
      };
      requests.push(record);
      const headers = { ...req.headers, host: upstream.host };
      let frozen = false;
      const upstreamRequest = https.request(url, { method, headers, ca, agent: false }, (upstreamRes) => {
        record.status = upstreamRes.statusCode ?? 0;
        if (frozen) return;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        // At once, as proxies do: Node would hold them until the first bytes of the body, which an
        // idle watch may not send before it ends.
        res.flushHeaders();
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => {
          if (!frozen) res.destroy();
        });
        flow.upstreamRes = upstreamRes;
      });
      const flow: { freeze(): void; upstreamRes?: IncomingMessage } = {
        freeze: () => {
          frozen = true;
          req.unpipe(upstreamRequest);
          flow.upstreamRes?.unpipe(res);
          // Read and drop what the API server still sends (its bookmarks, the end of the watch):
          // none of it reaches the client.
          flow.upstreamRes?.resume();
        },
      };
      forwarding.add(flow);
      upstreamRequests.add(upstreamRequest);
      upstreamRequest.on('close', () => {
        upstreamRequests.delete(upstreamRequest);
        if (!frozen) forwarding.delete(flow);
      });
      upstreamRequest.on('error', () => {
        if (!frozen) res.destroy();
      });
      res.on('close', () => {
        forwarding.delete(flow);
        upstreamRequest.destroy();
      });
      req.pipe(upstreamRequest);
    },
  );
  server.on('secureConnection', (socket: Socket) => {
    if (down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const cutConnections = (): void => {
    for (const r of upstreamRequests) r.destroy();
    for (const s of sockets) s.destroy();
  };
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    cutConnections,
    setDown: (value) => {
      down = value;
      if (value) cutConnections();
    },
    freezeOpenResponses: () => {
      for (const flow of forwarding) flow.freeze();
    },
    setBlackHole: (on) => {
      blackHole = on;
    },
    stop: async () => {
      for (const res of swallowed) res.destroy();
      cutConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
