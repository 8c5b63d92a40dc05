import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

import { KubeApiError } from './errors.ts';
import { KubeResponse } from './KubeResponse.ts';
import {
  inCluster,
  inClusterConfig,
  KubeconfigCredentials,
  KubeconfigError,
  kubeconfigFiles,
  loadKubeconfigFiles,
  NoClusterSelected,
  pluginOf,
  SERVICE_ACCOUNT_DIR,
} from './kubeconfig.ts';
import type { KubeconfigSelection } from './kubeconfig.ts';

// Not an ESM import: its facade loads Node's bundled undici (eslint.config.js says why).
const http = process.getBuiltinModule('node:http');

export { KubeApiError } from './errors.ts';
export { KubeResponse } from './KubeResponse.ts';

/** No usable credentials or cluster address: a setup problem, reported in one line. */
export class KubeCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeCredentialsError';
  }
}

export interface KubeClientOptions {
  /** Path of a kubeconfig file; default: KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly kubeconfig?: string;
  /** Context to use instead of the kubeconfig's current one. */
  readonly context?: string;
  /**
   * Ask for gzip-compressed responses. Off by default: between a pod and its API server the
   * network is rarely the limit, and decompressing costs this client more CPU per object than
   * JSON parsing during an initial sync (docs/benchmarks.md), besides the API server's CPU to
   * compress. Worth turning on over a slow link.
   * @default false
   */
  readonly compression?: boolean;
  /**
   * Where the in-cluster service account's `token` and `ca.crt` are.
   * @default /var/run/secrets/kubernetes.io/serviceaccount
   */
  readonly serviceAccountDir?: string;
}

/** The kubeconfig's TLS options, with a client certificate an exec plugin may give as PEM text. */
type TlsOptions = Omit<ReturnType<KubeconfigCredentials['tls']>, 'cert' | 'key'> & {
  cert?: Buffer | string | undefined;
  key?: Buffer | string | undefined;
};

/**
 * A connection silent this long (no response headers, or no body bytes) is given up, as undici's
 * default header and body timeouts did. A watch is never that quiet: the API server sends a
 * bookmark about every minute, and the reflector ends watches itself after their timeout.
 */
const SOCKET_IDLE_MS = 300_000;

/**
 * TCP keepalive on every API server connection, a watch's included: Node's Agent turns it on
 * with this idle time for each socket it opens, and libuv then probes every second, ten times,
 * so a peer that vanished without a word (a node gone, a NAT entry dropped) fails the request
 * within about a minute. client-go pings its HTTP/2 connections every 30 s for the same reason;
 * over HTTP/1.1 the kernel does it.
 */
const TCP_KEEPALIVE_MS = 30_000;

/**
 * HTTP/1.1 access to one API server through node:https, with one keep-alive connection pool.
 * Node's own client rather than undici's fetch: fetch's web streams cost more CPU per initial sync,
 * and loading undici more start-up (docs/benchmarks.md, "Figures behind the code"). Credentials come from
 * `kubeconfig.ts` (tokens, token files re-read as they rotate, client certificates, CA); a user
 * with an `exec` or `auth-provider` plugin is handed to client-node's KubeConfig, imported only
 * then (see kubeconfig.ts).
 */
export class KubeClient {
  readonly server: string;
  private _credentials: KubeconfigCredentials;
  private readonly _options: KubeClientOptions;
  private readonly _env: NodeJS.ProcessEnv;
  private _plugin: Promise<KubeConfig> | undefined;
  private _agent: Agent | undefined;
  private _agentKey = '';

  /** @throws KubeCredentialsError when no kubeconfig or in-cluster service account is found. */
  constructor(options: KubeClientOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this._options = options;
    this._env = env;
    this._credentials = new KubeconfigCredentials(loadSelection(options, env));
    this.server = this._credentials.selection.cluster.server;
  }

  /** Sends a GET; throws KubeApiError for non-2xx answers (the body is read for the Status message). */
  async get(
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
  ): Promise<KubeResponse> {
    return this._request('GET', path, query, undefined, signal);
  }

  /** Sends a POST with a JSON body (TokenReview, SubjectAccessReview); errors as `get`. */
  async post(path: string, body: unknown, signal: AbortSignal): Promise<KubeResponse> {
    return this._request('POST', path, {}, JSON.stringify(body), signal);
  }

  private async _request(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string | undefined>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<KubeResponse> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string | string[]> = { accept: 'application/json' };
    headers['accept-encoding'] = this._options.compression ? 'gzip' : 'identity';
    const tls: TlsOptions = this._credentials.tls();
    Object.assign(headers, this._credentials.headers());
    if (pluginOf(this._credentials.selection)) Object.assign(tls, await this._applyPlugin(headers));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const message = await send(url, method, headers, body, signal, this._dispatcher(url, tls));
    const response = new KubeResponse(message);
    if (response.status >= 200 && response.status < 300) return response;
    const text = await response.text().catch(() => '');
    let statusText = `${response.status} ${message.statusMessage ?? ''}`.trim();
    let reason: string | undefined;
    try {
      const status = JSON.parse(text) as { message?: string; reason?: string };
      if (status.message) statusText = `${response.status} ${status.message}`;
      reason = status.reason;
    } catch {
      if (text) statusText += `: ${text.slice(0, 200)}`;
    }
    const retryAfter = Number(response.header('retry-after'));
    throw new KubeApiError(
      response.status,
      statusText,
      reason,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }

  /**
   * Loads the credentials again after a 401: a kubeconfig whose token was rotated, or a token
   * file that changed before its once-a-minute re-read. Keeps the old ones if loading fails or
   * the cluster changed.
   */
  refreshCredentials(): Promise<void> {
    const selection = loadSelection(this._options, this._env);
    if (selection.cluster.server === this.server) {
      this._credentials = new KubeconfigCredentials(selection);
      this._plugin = undefined;
    }
    return Promise.resolve();
  }

  /**
   * The credential of an exec or auth-provider plugin, from client-node's KubeConfig given only
   * the user selected here (so the files, merge rules and context are ours, and the CA, proxy
   * and impersonation too); an exec plugin may return a client certificate instead of a token.
   */
  private async _applyPlugin(
    headers: Record<string, string | string[]>,
  ): Promise<Pick<TlsOptions, 'cert' | 'key'>> {
    this._plugin ??= (async () => {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const { cluster, user, userName } = this._credentials.selection;
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          { name: 'selected', server: cluster.server, skipTLSVerify: cluster.insecureSkipTlsVerify },
        ],
        users: [{ name: userName, exec: user.exec, authProvider: user.authProvider }],
        contexts: [{ name: 'selected', cluster: 'selected', user: userName }],
        currentContext: 'selected',
      });
      return kc;
    })();
    const opts: RequestOptions & { headers: Record<string, string> } = { headers: {} };
    await (await this._plugin).applyToHTTPSOptions(opts);
    const authorization = Object.entries(opts.headers).find(([k]) => k.toLowerCase() === 'authorization');
    if (typeof authorization?.[1] === 'string') headers.authorization = authorization[1];
    const cert = opts.cert as Buffer | string | undefined;
    const key = opts.key as Buffer | string | undefined;
    return cert && key ? { cert, key } : {};
  }

  /** Closes the pooled connections (requests in flight are cut). */
  close(): Promise<void> {
    this._agent?.destroy();
    this._agent = undefined;
    return Promise.resolve();
  }

  /** One pool per cluster; rebuilt only when the TLS material changes (certificate rotation). */
  private _dispatcher(url: URL, tls: TlsOptions): Agent {
    const plain = url.protocol === 'http:';
    const key = plain
      ? 'http'
      : JSON.stringify([
          String(tls.ca ?? ''),
          String(tls.cert ?? ''),
          String(tls.key ?? ''),
          tls.rejectUnauthorized,
          tls.servername,
        ]);
    if (!this._agent || key !== this._agentKey) {
      const old = this._agent;
      // HTTP/1.1, a connection per watch: over HTTP/2 a big initial list waits on stream flow
      // control whenever the event loop is busy turning objects into series (docs/benchmarks.md).
      const pool = {
        keepAlive: true,
        keepAliveMsecs: TCP_KEEPALIVE_MS,
        ...proxyOption(this._credentials.selection.cluster.proxyUrl),
      };
      this._agent = plain ? new http.Agent(pool) : new HttpsAgent({ ...pool, ...definedOnly(tls) });
      this._agentKey = key;
      if (old) retire(old);
    }
    return this._agent;
  }
}

/** Sends one request; resolves with the response once its headers are in. */
function send(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string | string[]>,
  body: string | undefined,
  signal: AbortSignal,
  agent: Agent,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request: ClientRequest = (url.protocol === 'http:' ? http.request : httpsRequest)(url, {
      method,
      headers:
        body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent,
      signal,
    });
    request.setTimeout(SOCKET_IDLE_MS, () =>
      request.destroy(new Error(`no data from the API server for ${SOCKET_IDLE_MS / 1000} s`)),
    );
    request.once('error', reject);
    request.once('response', resolve);
    request.end(body);
  });
}

/**
 * Closes a replaced pool's idle connections now and each busy one (a watch) when its response is
 * done, instead of cutting the watches as `destroy()` would. Node's Agent reads `keepAlive` when a
 * socket comes free, and destroys the socket if it is off.
 */
function retire(agent: Agent): void {
  (agent as Agent & { keepAlive: boolean }).keepAlive = false;
  for (const sockets of Object.values(agent.freeSockets))
    for (const socket of sockets ?? []) socket.destroy();
}

/** TLS options without undefined fields (an explicit undefined `ca` would drop the system CAs). */
function definedOnly(tls: TlsOptions): Partial<TlsOptions> {
  return Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
}

/**
 * A cluster's `proxy-url` (an http:// proxy: kubeconfig.ts refuses others) for Node's Agent: a
 * CONNECT tunnel to an https server, absolute URLs to an http one, as client-go does. Refused
 * where this Node cannot proxy (loadSelection), rather than connecting directly.
 */
function proxyOption(proxyUrl: string | undefined): { proxyEnv?: NodeJS.ProcessEnv } {
  if (proxyUrl === undefined) return {};
  return { proxyEnv: { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl } };
}

/** Node's Agent connects through `proxyEnv` (added in Node 24.5): an own kProxyConfig symbol. */
function agentProxySupported(): boolean {
  const agent = new http.Agent({ proxyEnv: { HTTP_PROXY: 'http://127.0.0.1:1' } });
  return Object.getOwnPropertySymbols(agent).some(
    (s) => s.description === 'kProxyConfig' && (agent as unknown as Record<symbol, unknown>)[s] != null,
  );
}

/**
 * The selected cluster and user, found as kubectl finds them: `--kubeconfig`, else the files of
 * KUBECONFIG or ~/.kube/config; when those select no cluster (none exist, no current context, a
 * context whose cluster is undefined or has no server), the in-cluster service account. Where
 * kubectl would then try http://localhost:8080 (and client-node retry it forever), this says what
 * was looked for instead.
 */
function loadSelection(options: KubeClientOptions, env: NodeJS.ProcessEnv): KubeconfigSelection {
  const files = options.kubeconfig !== undefined ? [options.kubeconfig] : kubeconfigFiles(env);
  const origin =
    options.kubeconfig !== undefined ? '--kubeconfig' : env.KUBECONFIG ? 'KUBECONFIG' : undefined;
  const serviceAccountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let unselected: string | undefined;
  try {
    if (files.length > 0) {
      const selection = loadKubeconfigFiles(files, options.context);
      if (selection.cluster.proxyUrl !== undefined && !agentProxySupported())
        throw new KubeconfigError(
          `proxy-url ${selection.cluster.proxyUrl}: this Node.js (${process.version}) cannot connect through a proxy; use Node.js 24.5 or later`,
        );
      return selection;
    }
  } catch (err) {
    if (!(err instanceof NoClusterSelected)) {
      if (err instanceof KubeconfigError && err.message.startsWith('--context'))
        throw new KubeCredentialsError(err.message);
      const file = err instanceof KubeconfigError && err.file !== undefined ? err.file : files.join(':');
      throw new KubeCredentialsError(
        `cannot load kubeconfig ${file}${origin ? ` (${origin})` : ''}: ${firstLine(err)}`,
      );
    }
    unselected = err.message;
  }
  if (!inCluster(env, serviceAccountDir)) {
    const looked =
      unselected !== undefined
        ? `${unselected}${origin ? ` (${origin})` : ''}`
        : env.KUBECONFIG
          ? `no file of KUBECONFIG (${env.KUBECONFIG}) exists`
          : `KUBECONFIG is not set, ${join(env.HOME ?? homedir(), '.kube', 'config')} does not exist`;
    throw new KubeCredentialsError(
      `no Kubernetes credentials: ${looked}, ` +
        `and not in a cluster (KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset, or no ${serviceAccountDir}/token); ` +
        `pass ${unselected !== undefined ? '--context NAME or ' : ''}--kubeconfig FILE, ` +
        'or use --source files:DIR to read objects from files',
    );
  }
  if (options.context !== undefined && files.length === 0)
    throw new KubeCredentialsError(
      `--context ${options.context}: no kubeconfig to take it from (in a cluster)`,
    );
  try {
    return inClusterConfig(env, serviceAccountDir);
  } catch (err) {
    throw new KubeCredentialsError(`cannot load in-cluster config: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
