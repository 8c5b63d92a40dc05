import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';

import { KubeApiError } from './errors.ts';
import {
  inCluster,
  inClusterConfig,
  KubeconfigCredentials,
  KubeconfigError,
  kubeconfigFiles,
  loadKubeconfigFiles,
  SERVICE_ACCOUNT_DIR,
} from './kubeconfig.ts';
import type { KubeconfigSelection } from './kubeconfig.ts';

export { KubeApiError } from './errors.ts';

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
   * network is rarely the limit, and decompressing cost this client ~30 µs of CPU per object
   * during an initial sync (0.6 s of a 20k-object sync, more than JSON parsing), besides the API
   * server's CPU to compress. Worth turning on over a slow link.
   * @default false
   */
  readonly compression?: boolean;
}

type TlsOptions = ReturnType<KubeconfigCredentials['tls']>;

/**
 * HTTP access to one API server, with one shared undici connection pool. Credentials come from
 * `kubeconfig.ts` (tokens, token files re-read as they rotate, client certificates, CA); a user
 * with an `exec` or `auth-provider` plugin is handed to client-node's KubeConfig, imported only
 * then (it is ~870 modules and ~70 MB, see kubeconfig.ts).
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
  async get(path: string, query: Record<string, string | undefined>, signal: AbortSignal): Promise<Response> {
    return this._request('GET', path, query, undefined, signal);
  }

  /** Sends a POST with a JSON body (TokenReview, SubjectAccessReview); errors as `get`. */
  async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    return this._request('POST', path, {}, JSON.stringify(body), signal);
  }

  private async _request(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string | undefined>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (!this._options.compression) headers['accept-encoding'] = 'identity';
    let tls: TlsOptions;
    if (this._credentials.selection.user.plugin) {
      tls = await this._applyPlugin(headers);
    } else {
      tls = this._credentials.tls();
      Object.assign(headers, this._credentials.headers());
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body, signal, dispatcher: this._dispatcher(tls) });
    if (response.status >= 200 && response.status < 300) return response;
    const text = await response.text().catch(() => '');
    let message = `${response.status} ${response.statusText}`;
    let reason: string | undefined;
    try {
      const status = JSON.parse(text) as { message?: string; reason?: string };
      if (status.message) message = `${response.status} ${status.message}`;
      reason = status.reason;
    } catch {
      if (text) message += `: ${text.slice(0, 200)}`;
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new KubeApiError(
      response.status,
      message,
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

  /** Credentials from client-node's KubeConfig (exec and auth-provider plugins). */
  private async _applyPlugin(headers: Record<string, string>): Promise<TlsOptions> {
    this._plugin ??= (async () => {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      if (this._options.kubeconfig !== undefined) kc.loadFromFile(this._options.kubeconfig);
      else kc.loadFromDefault();
      const context = this._credentials.selection.context;
      if (context !== undefined) kc.setCurrentContext(context);
      return kc;
    })();
    const opts: RequestOptions & { headers: Record<string, string> } = { headers: {} };
    await (await this._plugin).applyToHTTPSOptions(opts);
    for (const [k, v] of Object.entries(opts.headers))
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    if (opts.auth && !headers.authorization)
      headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return {
      ca: opts.ca as Buffer | undefined,
      cert: opts.cert as Buffer | undefined,
      key: opts.key as Buffer | undefined,
      rejectUnauthorized: opts.rejectUnauthorized,
      servername: opts.servername ?? undefined,
    };
  }

  async close(): Promise<void> {
    await this._agent?.close();
    this._agent = undefined;
  }

  /** One pool per cluster; rebuilt only when the TLS material changes (certificate rotation). */
  private _dispatcher(tls: TlsOptions): Agent | undefined {
    if (this.server.startsWith('http:')) return undefined;
    const key = JSON.stringify([
      String(tls.ca ?? ''),
      String(tls.cert ?? ''),
      String(tls.key ?? ''),
      tls.rejectUnauthorized,
      tls.servername,
    ]);
    if (!this._agent || key !== this._agentKey) {
      const old = this._agent;
      this._agent = new Agent({
        connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 },
        // HTTP/1.1, a connection per watch: over HTTP/2 a big initial list waits on stream flow
        // control whenever the event loop is busy turning objects into series. 100k objects,
        // uncompressed: 30–38 s to synced over HTTP/2, 17–23 s over HTTP/1.1 (docs/benchmarks.md).
        allowH2: false,
      });
      this._agentKey = key;
      void old?.close();
    }
    return this._agent;
  }
}

/**
 * The selected cluster and user: `--kubeconfig`, else KUBECONFIG or ~/.kube/config, else the
 * in-cluster service account. Client-node would fall back to http://localhost:8080 and retry
 * forever; this says what was looked for instead.
 */
function loadSelection(options: KubeClientOptions, env: NodeJS.ProcessEnv): KubeconfigSelection {
  const files = options.kubeconfig !== undefined ? [options.kubeconfig] : kubeconfigFiles(env);
  const origin =
    options.kubeconfig !== undefined ? '--kubeconfig' : env.KUBECONFIG ? 'KUBECONFIG' : undefined;
  if (files.length === 0 && !inCluster(env))
    throw new KubeCredentialsError(
      `no Kubernetes credentials: KUBECONFIG is not set, ${join(env.HOME ?? homedir(), '.kube', 'config')} does not exist, ` +
        `and not in a cluster (KUBERNETES_SERVICE_HOST unset or no ${SERVICE_ACCOUNT_DIR}/token); ` +
        'pass --kubeconfig FILE, or use --source files:DIR to read objects from files',
    );
  try {
    if (files.length === 0) {
      if (options.context)
        throw new KubeconfigError(
          `--context ${options.context}: no kubeconfig to take it from (in a cluster)`,
        );
      return inClusterConfig(env);
    }
    return loadKubeconfigFiles(files, options.context);
  } catch (err) {
    if (err instanceof KubeconfigError && /^(--context|no cluster)/.test(err.message))
      throw new KubeCredentialsError(err.message);
    const what =
      files.length > 0 ? `kubeconfig ${files.join(':')}${origin ? ` (${origin})` : ''}` : 'in-cluster config';
    throw new KubeCredentialsError(`cannot load ${what}: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
