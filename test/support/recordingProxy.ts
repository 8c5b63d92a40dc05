import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

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

/**
 * What one client sent one server, as far as credentials go: which server (the recorder's name),
 * over TLS or not, the SNI name, the client certificate presented, the credential headers; or
 * that the TLS handshake failed (the client did not trust the server, or spoke plain HTTP).
 */
export interface RecordedCall {
  readonly server: string;
  readonly tls: boolean;
  readonly servername?: string | undefined;
  /** Subject CN of the client certificate presented. */
  readonly clientCertificate?: string | undefined;
  readonly method?: string | undefined;
  readonly path?: string | undefined;
  /** authorization, proxy-authorization and impersonate-* headers, repeated values joined by ', '. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The status sent back (the upstream's, when forwarding). */
  readonly status?: number | undefined;
  readonly failure?: 'tls handshake failed' | 'plain http on a TLS port' | undefined;
}

export interface CredentialRecorderOptions {
  /** Names this server in the calls. */
  readonly name: string;
  /** The log calls are appended to, shared by several recorders. */
  readonly calls: RecordedCall[];
  /** Serve TLS with this certificate (PEM) and ask for a client certificate. Plain HTTP without. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  /** Port to listen on (default: any free one), on 127.0.0.1. */
  readonly port?: number | undefined;
  /**
   * Forward each request to this server (e.g. a real kube-apiserver), trusting `ca`; a client
   * that presented one of `identities`' certificates is presented upstream with it. Without
   * upstream, the recorder answers GET /api itself, as an API server's discovery would.
   */
  readonly upstream?:
    | {
        readonly url: string;
        readonly ca: string;
        readonly identities?: readonly { readonly cert: string; readonly key: string }[];
      }
    | undefined;
}

export interface CredentialRecorder {
  /** http(s)://127.0.0.1:port */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What an API server answers for GET /api, enough for kubectl and for our client. */
const API_VERSIONS = JSON.stringify({
  kind: 'APIVersions',
  versions: ['v1'],
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
});

/**
 * A server that records the credentials each client brings (see RecordedCall), standing in for
 * an API server or in front of one, and as a forward proxy: a CONNECT is recorded (target and
 * proxy-authorization) and tunnelled to its target, so the tunnelled TLS request is recorded by
 * the recorder listening there.
 */
export async function startCredentialRecorder(
  options: CredentialRecorderOptions,
): Promise<CredentialRecorder> {
  const { name, calls, upstream } = options;
  const tls = options.tls !== undefined;
  const credentialHeaders = (headers: http.IncomingHttpHeaders): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers))
      if (value !== undefined && /^(authorization|proxy-authorization|impersonate-.*)$/.test(key))
        out[key] = Array.isArray(value) ? value.join(', ') : value;
    return out;
  };
  const peer = (req: http.IncomingMessage): { servername?: string; clientCertificate?: string } => {
    if (!(req.socket instanceof TLSSocket)) return {};
    const cert = req.socket.getPeerCertificate();
    const cn = cert.subject?.CN;
    return {
      servername: req.socket.servername || undefined,
      clientCertificate: Array.isArray(cn) ? cn.join(',') : cn,
    };
  };
  const identities = (upstream?.identities ?? []).map((id) => ({
    ...id,
    fingerprint: new X509Certificate(id.cert).fingerprint256,
  }));
  const handler: http.RequestListener = (req, res) => {
    const base = {
      server: name,
      tls,
      ...peer(req),
      method: req.method,
      path: req.url,
      headers: credentialHeaders(req.headers),
    };
    if (!upstream) {
      const status = req.method === 'GET' && /\/api\/?$/.test(req.url ?? '') ? 200 : 404;
      calls.push({ ...base, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? API_VERSIONS : '{}');
      return;
    }
    const presented =
      req.socket instanceof TLSSocket ? req.socket.getPeerCertificate().fingerprint256 : undefined;
    const identity = identities.find((id) => id.fingerprint === presented);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const forwarded = https.request(
      new URL(req.url ?? '/', upstream.url),
      {
        method: req.method,
        headers,
        ca: upstream.ca,
        ...(identity ? { cert: identity.cert, key: identity.key } : {}),
      },
      (up) => {
        calls.push({ ...base, status: up.statusCode });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forwarded.on('error', () => {
      calls.push({ ...base, status: 502 });
      res.writeHead(502).end();
    });
    req.pipe(forwarded);
  };
  const server = tls
    ? https.createServer(
        { cert: options.tls.cert, key: options.tls.key, requestCert: true, rejectUnauthorized: false },
        handler,
      )
    : http.createServer(handler);
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    const plain = err.code === 'ERR_SSL_HTTP_REQUEST' || /http request/i.test(err.message);
    calls.push({
      server: name,
      tls,
      servername: socket.servername || undefined,
      failure: plain ? 'plain http on a TLS port' : 'tls handshake failed',
    });
  });
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    calls.push({
      server: name,
      tls,
      method: 'CONNECT',
      path: req.url,
      headers: credentialHeaders(req.headers),
    });
    const target = new URL(`http://${req.url ?? ''}`);
    const tunnel = net.connect(Number(target.port), target.hostname, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      tunnel.write(head);
      tunnel.pipe(socket).pipe(tunnel);
    });
    const end = (): void => {
      tunnel.destroy();
      socket.destroy();
    };
    tunnel.on('error', end);
    socket.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
