import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/**
 * Reads kubeconfig files and the in-cluster service account, as client-go does, for the
 * credentials the bridge meets in practice: bearer tokens (inline, or a token file re-read as it
 * rotates), client certificates, basic auth, CA files or data, `insecure-skip-tls-verify`,
 * `tls-server-name` and impersonation (`as`).
 *
 * Why not client-node's KubeConfig for these: importing `@kubernetes/client-node` loads about 870
 * modules (its whole generated API), which took ~0.5 s of a 1.2 s start on an idle machine and
 * ~70 MB of RSS, for a few YAML fields. Users with an `exec` or `auth-provider` plugin still go
 * through client-node (`needsPlugin`), loaded only then.
 */

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How often a token file is re-read (client-go and client-node: every minute). */
const TOKEN_FILE_TTL_MS = 60_000;

export interface KubeconfigCluster {
  readonly server: string;
  readonly caFile?: string | undefined;
  readonly caData?: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string | undefined;
}

export interface KubeconfigUser {
  readonly token?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly certData?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly keyData?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly impersonate?: string | undefined;
  /** An `exec` or `auth-provider` plugin, which client-node runs. */
  readonly plugin: boolean;
}

/** The cluster and user of the selected context. */
export interface KubeconfigSelection {
  readonly cluster: KubeconfigCluster;
  readonly user: KubeconfigUser;
  /** The files it was read from (empty in a cluster), for client-node when a plugin is needed. */
  readonly files: readonly string[];
  readonly context: string | undefined;
}

/** A kubeconfig that cannot be used; the message says what and where. */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/**
 * The kubeconfig files client-go would read, in order: those of KUBECONFIG that exist (client-go
 * and kubectl skip missing ones in the list), else ~/.kube/config if it exists.
 */
export function kubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((f) => f !== '' && existsSync(f));
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

export function inCluster(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(join(SERVICE_ACCOUNT_DIR, 'token'));
}

type Named = { name?: unknown } & Record<string, unknown>;

interface ParsedFile {
  readonly clusters: Map<string, KubeconfigCluster>;
  readonly users: Map<string, KubeconfigUser>;
  readonly contexts: Map<string, { cluster: string; user: string | undefined }>;
  readonly currentContext: string | undefined;
}

/**
 * Loads kubeconfig files (merged as client-go does: the first file to define a name or the
 * current context wins) and selects `context` or the current one. Relative file paths are relative
 * to the file that names them.
 * @throws KubeconfigError, or the file system's error for an unreadable file.
 */
export function loadKubeconfigFiles(files: readonly string[], context?: string): KubeconfigSelection {
  const clusters = new Map<string, KubeconfigCluster>();
  const users = new Map<string, KubeconfigUser>();
  const contexts = new Map<string, { cluster: string; user: string | undefined }>();
  let current: string | undefined;
  for (const file of files) {
    const parsed = parseKubeconfig(readFileSync(file, 'utf8'), dirname(file));
    for (const [k, v] of parsed.clusters) if (!clusters.has(k)) clusters.set(k, v);
    for (const [k, v] of parsed.users) if (!users.has(k)) users.set(k, v);
    for (const [k, v] of parsed.contexts) if (!contexts.has(k)) contexts.set(k, v);
    current ??= parsed.currentContext;
  }
  const where = files.length === 1 ? files[0]! : 'the kubeconfig';
  const name = context ?? current;
  if (context !== undefined && !contexts.has(context))
    throw new KubeconfigError(`--context ${context}: no such context in ${where}`);
  const ctx = name === undefined ? undefined : contexts.get(name);
  const cluster = ctx ? clusters.get(ctx.cluster) : undefined;
  if (!ctx || !cluster)
    throw new KubeconfigError(
      `no cluster for the current context in ${where}; pass --context, or use --source files:DIR`,
    );
  const user = (ctx.user === undefined ? undefined : users.get(ctx.user)) ?? { plugin: false };
  return { cluster, user, files, context: name };
}

/** The in-cluster service account: the API server from the environment, token and CA from files. */
export function inClusterConfig(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): KubeconfigSelection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return {
    cluster: {
      server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: join(dir, 'ca.crt'),
      insecureSkipTlsVerify: false,
    },
    user: { tokenFile: join(dir, 'token'), plugin: false },
    files: [],
    context: undefined,
  };
}

/** Parses one kubeconfig's text; `base` is the directory relative paths start from. */
export function parseKubeconfig(text: string, base: string): ParsedFile {
  const doc: unknown = parse(text);
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc)))
    throw new KubeconfigError('not a kubeconfig (expected a mapping with clusters, users and contexts)');
  const root = (doc ?? {}) as Record<string, unknown>;
  const path = (p: unknown): string | undefined =>
    typeof p === 'string' && p !== '' ? (isAbsolute(p) ? p : join(base, p)) : undefined;
  const clusters = new Map<string, KubeconfigCluster>();
  for (const [i, e] of entries(root.clusters)) {
    const name = string(e.name);
    if (name === undefined) throw new KubeconfigError(`clusters[${i}].name is missing`);
    const c = object(e.cluster, `clusters[${i}].cluster`);
    if (typeof c.server !== 'string' || c.server === '')
      throw new KubeconfigError(`clusters[${i}].cluster.server is missing`);
    clusters.set(name, {
      server: c.server.replace(/\/$/, ''),
      caFile: path(c['certificate-authority']),
      caData: string(c['certificate-authority-data']),
      insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
      tlsServerName: string(c['tls-server-name']),
    });
  }
  const users = new Map<string, KubeconfigUser>();
  for (const [i, e] of entries(root.users)) {
    const name = string(e.name);
    if (name === undefined) throw new KubeconfigError(`users[${i}].name is missing`);
    const u = e.user === undefined || e.user === null ? {} : object(e.user, `users[${i}].user`);
    users.set(name, {
      token: string(u.token),
      tokenFile: path(u.tokenFile ?? u['token-file']),
      certFile: path(u['client-certificate']),
      certData: string(u['client-certificate-data']),
      keyFile: path(u['client-key']),
      keyData: string(u['client-key-data']),
      username: string(u.username),
      password: string(u.password),
      impersonate: string(u.as),
      plugin: Boolean(u.exec) || Boolean(u['auth-provider']),
    });
  }
  const contexts = new Map<string, { cluster: string; user: string | undefined }>();
  for (const [i, e] of entries(root.contexts)) {
    const name = string(e.name);
    if (name === undefined) throw new KubeconfigError(`contexts[${i}].name is missing`);
    const c = object(e.context, `contexts[${i}].context`);
    const cluster = string(c.cluster);
    if (cluster === undefined) throw new KubeconfigError(`contexts[${i}].context.cluster is missing`);
    contexts.set(name, { cluster, user: string(c.user) });
  }
  return { clusters, users, contexts, currentContext: string(root['current-context']) };
}

/** TLS options and request headers for the selection, read now (files are read at each call). */
export class KubeconfigCredentials {
  readonly selection: KubeconfigSelection;
  private _token: { value: string; readAt: number } | undefined;

  constructor(selection: KubeconfigSelection) {
    this.selection = selection;
  }

  /** CA, client certificate and key, verification: read from files at each call, so rotation is seen. */
  tls(): {
    ca?: Buffer | undefined;
    cert?: Buffer | undefined;
    key?: Buffer | undefined;
    rejectUnauthorized?: boolean | undefined;
    servername?: string | undefined;
  } {
    const { cluster, user } = this.selection;
    return {
      ca: fileOrData(cluster.caFile, cluster.caData),
      cert: fileOrData(user.certFile, user.certData),
      key: fileOrData(user.keyFile, user.keyData),
      rejectUnauthorized: cluster.insecureSkipTlsVerify ? false : undefined,
      servername: cluster.tlsServerName,
    };
  }

  /** Authorization (and impersonation) headers; a token file is re-read once a minute. */
  headers(now = Date.now()): Record<string, string> {
    const { user } = this.selection;
    const headers: Record<string, string> = {};
    let token = user.token;
    if (!token && user.tokenFile) {
      if (!this._token || now - this._token.readAt > TOKEN_FILE_TTL_MS)
        this._token = { value: readFileSync(user.tokenFile, 'utf8').trim(), readAt: now };
      token = this._token.value;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    else if (user.username !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    if (user.impersonate) headers['impersonate-user'] = user.impersonate;
    return headers;
  }
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

function entries(list: unknown): [number, Named][] {
  if (!Array.isArray(list)) return [];
  return list.map((e, i) => [i, (e !== null && typeof e === 'object' ? e : {}) as Named]);
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new KubeconfigError(`${where} is missing`);
  return value as Record<string, unknown>;
}

function string(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
