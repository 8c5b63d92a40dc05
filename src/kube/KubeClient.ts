import { existsSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';

import { KubeApiError } from './errors.ts';

export { KubeApiError } from './errors.ts';

/** No usable credentials or cluster address: a setup problem, reported in one line. */
export class KubeCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeCredentialsError';
  }
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeClientOptions {
  /** Path of a kubeconfig file; default: KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly kubeconfig?: string;
  /** Context to use instead of the kubeconfig's current one. */
  readonly context?: string;
}

/**
 * HTTP access to one API server. Uses client-node's KubeConfig for loading, credentials (service
 * account token files are re-read as they rotate; exec plugins) and TLS material, and one shared
 * undici connection pool, where client-node 2.0.1 builds a new Agent (a new connection) per request.
 */
export class KubeClient {
  readonly server: string;
  private _kc: KubeConfig;
  private readonly _options: KubeClientOptions;
  private _agent: Agent | undefined;
  private _agentKey = '';

  /** @throws KubeCredentialsError when no kubeconfig or in-cluster service account is found. */
  constructor(options: KubeClientOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    const kc = new KubeConfig();
    const file = options.kubeconfig ?? kubeconfigFiles(env)[0];
    const origin =
      options.kubeconfig !== undefined ? '--kubeconfig' : env.KUBECONFIG ? 'KUBECONFIG' : undefined;
    try {
      if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
      else if (file !== undefined || inCluster(env)) kc.loadFromDefault();
      else
        // client-node would fall back to http://localhost:8080 and retry forever.
        throw new KubeCredentialsError(
          `no Kubernetes credentials: KUBECONFIG is not set, ${join(env.HOME ?? homedir(), '.kube', 'config')} does not exist, ` +
            `and not in a cluster (KUBERNETES_SERVICE_HOST unset or no ${SERVICE_ACCOUNT_TOKEN}); ` +
            'pass --kubeconfig FILE, or use --source files:DIR to read objects from files',
        );
    } catch (err) {
      if (err instanceof KubeCredentialsError) throw err;
      const what =
        file !== undefined ? `kubeconfig ${file}${origin ? ` (${origin})` : ''}` : 'in-cluster config';
      throw new KubeCredentialsError(`cannot load ${what}: ${firstLine(err)}`);
    }
    if (options.context) {
      if (!kc.getContexts().some((c) => c.name === options.context))
        throw new KubeCredentialsError(
          `--context ${options.context}: no such context in ${file ?? 'the kubeconfig'}`,
        );
      kc.setCurrentContext(options.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster)
      throw new KubeCredentialsError(
        `no cluster for the current context in ${file ?? 'the kubeconfig'}; pass --context, or use --source files:DIR`,
      );
    this._kc = kc;
    this._options = options;
    this.server = cluster.server.replace(/\/$/, '');
  }

  /** Sends a GET; throws KubeApiError for non-2xx answers (the body is read for the Status message). */
  async get(path: string, query: Record<string, string | undefined>, signal: AbortSignal): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const opts: RequestOptions & { headers: Record<string, string> } = { headers: {} };
    await this._kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(opts.headers))
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    if (opts.auth && !headers.authorization)
      headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const response = await fetch(url, { headers, signal, dispatcher: this._dispatcher(opts) });
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
   * file that changed before client-node's own 60 s re-read. Keeps the old ones if loading fails.
   */
  refreshCredentials(): Promise<void> {
    const kc = new KubeConfig();
    if (this._options.kubeconfig) kc.loadFromFile(this._options.kubeconfig);
    else kc.loadFromDefault();
    if (this._options.context) kc.setCurrentContext(this._options.context);
    const cluster = kc.getCurrentCluster();
    if (cluster?.server.replace(/\/$/, '') === this.server) this._kc = kc;
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this._agent?.close();
    this._agent = undefined;
  }

  /** One pool per cluster; rebuilt only when the TLS material changes (certificate rotation). */
  private _dispatcher(opts: RequestOptions): Agent | undefined {
    if (this.server.startsWith('http:')) return undefined;
    const tls = {
      ca: opts.ca as string | Buffer | undefined,
      cert: opts.cert as string | Buffer | undefined,
      key: opts.key as string | Buffer | undefined,
      rejectUnauthorized: opts.rejectUnauthorized,
      servername: opts.servername ?? undefined,
    };
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
        allowH2: true,
      });
      this._agentKey = key;
      void old?.close();
    }
    return this._agent;
  }
}

/** The kubeconfig files client-node's loadFromDefault would read, in order (existing ones only). */
function kubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((f) => f !== '');
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

function inCluster(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(SERVICE_ACCOUNT_TOKEN);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
