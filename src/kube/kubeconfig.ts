import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { createSecureContext } from 'node:tls';
import { parse } from 'yaml';

/**
 * Reads kubeconfig files and the in-cluster service account with client-go's rules (clientcmd's
 * loading, merging, validation and rest.Config's precedence), for the credentials the bridge
 * meets in practice: bearer tokens (inline, or a token file re-read as it rotates), client
 * certificates, basic auth, CA files or data, `insecure-skip-tls-verify`, `tls-server-name`,
 * `proxy-url` and impersonation (`as`, `as-uid`, `as-groups`, `as-user-extra`).
 * test/integration/kubeconfigKubectl.test.ts holds it to kubectl on the same files.
 *
 * Why not client-node's KubeConfig for these: importing `@kubernetes/client-node` loads its whole
 * generated API, a large share of start-up time and RSS (docs/benchmarks.md, "Figures behind the
 * code"), for a few YAML fields. Users with an `exec` or `auth-provider` plugin still go
 * through client-node (`pluginOf`), loaded only then, and given the user selected here.
 */

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How often a token file is re-read (client-go and client-node: every minute). */
const TOKEN_FILE_TTL_MS = 60_000;

export interface KubeconfigCluster {
  /** As client-go reads it: a server without a scheme is plain http; no trailing slash. */
  readonly server: string;
  readonly caFile?: string | undefined;
  /** Base64, checked. */
  readonly caData?: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string | undefined;
  readonly proxyUrl?: string | undefined;
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
  readonly impersonateUid?: string | undefined;
  readonly impersonateGroups: readonly string[];
  readonly impersonateExtra: Readonly<Record<string, readonly string[]>>;
  /** The `exec` plugin as written (a relative command path resolved), which client-node runs. */
  readonly exec?: Readonly<Record<string, unknown>> | undefined;
  readonly authProvider?: Readonly<Record<string, unknown>> | undefined;
}

/** The cluster and user of the selected context, or of the in-cluster service account. */
export interface KubeconfigSelection {
  readonly cluster: KubeconfigCluster;
  readonly user: KubeconfigUser;
  /** The user's name in the kubeconfig (client-node caches plugin credentials by it). */
  readonly userName: string;
  /** The files it was read from (empty in a cluster). */
  readonly files: readonly string[];
  readonly context: string | undefined;
}

/** A kubeconfig that cannot be used; the message says what, `file` where when known. */
export class KubeconfigError extends Error {
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super(message);
    this.name = 'KubeconfigError';
    this.file = file;
  }
}

/**
 * The kubeconfig files select no cluster (no context named, or its cluster is undefined or has no
 * server): client-go then tries the in-cluster service account, and kubectl falls back to
 * http://localhost:8080.
 */
export class NoClusterSelected extends KubeconfigError {
  constructor(message: string) {
    super(message);
    this.name = 'NoClusterSelected';
  }
}

/**
 * The kubeconfig files client-go would read, in order: those of KUBECONFIG that exist (client-go
 * and kubectl skip missing ones in the list, and read a file listed twice once), else
 * ~/.kube/config if it exists.
 */
export function kubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.KUBECONFIG)
    return [...new Set(env.KUBECONFIG.split(delimiter))].filter((f) => f !== '' && existsSync(f));
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/** client-go's InClusterConfig is possible: host and port set, and the token is a file. */
export function inCluster(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): boolean {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) return false;
  try {
    return statSync(join(dir, 'token')).isFile();
  } catch {
    return false;
  }
}

interface Located<T> {
  readonly value: T;
  readonly file: string;
}

interface ContextEntry {
  readonly cluster: string;
  readonly user: string;
}

interface MergedKubeconfig {
  readonly clusters: Map<string, Located<KubeconfigCluster>>;
  readonly users: Map<string, Located<KubeconfigUser>>;
  readonly contexts: Map<string, Located<ContextEntry>>;
  readonly currentContext: string | undefined;
}

/**
 * Loads kubeconfig files (merged as client-go does: the first file to define a name or the
 * current context wins) and selects `context` or the current one. Relative file paths are
 * relative to the file that names them. Refuses what kubectl refuses, one line each.
 * @throws NoClusterSelected when nothing is selected, KubeconfigError for a broken kubeconfig, or
 *   the file system's error for an unreadable file.
 */
export function loadKubeconfigFiles(files: readonly string[], context?: string): KubeconfigSelection {
  const merged: MergedKubeconfig = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
  };
  let current: string | undefined;
  for (const file of files) {
    let parsed: ParsedFile;
    try {
      parsed = parseKubeconfig(readFileSync(file, 'utf8'), dirname(resolve(file)));
    } catch (err) {
      if (err instanceof KubeconfigError) throw new KubeconfigError(err.message, file);
      throw err;
    }
    const add = <T>(into: Map<string, Located<T>>, from: Map<string, T>): void => {
      for (const [k, v] of from) if (!into.has(k)) into.set(k, { value: v, file });
    };
    add(merged.clusters, parsed.clusters);
    add(merged.users, parsed.users);
    add(merged.contexts, parsed.contexts);
    current ??= parsed.currentContext;
  }
  return selectContext({ ...merged, currentContext: current }, files, context);
}

function selectContext(
  merged: MergedKubeconfig,
  files: readonly string[],
  context: string | undefined,
): KubeconfigSelection {
  const where = files.length === 1 ? files[0]! : 'the kubeconfig';
  if (context !== undefined && !merged.contexts.has(context))
    throw new KubeconfigError(`--context ${context}: no such context in ${where}`);
  const name = context ?? merged.currentContext;
  if (name === undefined) throw new NoClusterSelected(`no current-context in ${where}`);
  const ctx = merged.contexts.get(name);
  if (!ctx) throw new KubeconfigError(`current-context ${name}: no such context in ${where}`);
  const cluster = merged.clusters.get(ctx.value.cluster);
  if (!cluster)
    throw new NoClusterSelected(
      `context ${name} names cluster "${ctx.value.cluster}", not defined in ${where}`,
    );
  if (cluster.value.server === '')
    throw new NoClusterSelected(`cluster "${ctx.value.cluster}" (${cluster.file}) has no server`);
  const user = merged.users.get(ctx.value.user);
  const selection: KubeconfigSelection = {
    cluster: cluster.value,
    user: user?.value ?? EMPTY_USER,
    userName: ctx.value.user,
    files,
    context: name,
  };
  checkCluster(cluster.value, `cluster "${ctx.value.cluster}"`, cluster.file);
  if (user) checkUser(user.value, `user "${ctx.value.user}"`, user.file);
  if (isSecure(cluster.value.server)) checkTransport(selection, ctx.value, cluster.file, user?.file);
  return selection;
}

const EMPTY_USER: KubeconfigUser = { impersonateGroups: [], impersonateExtra: {} };

/** Credentials are sent only over https, as client-go does (`IsConfigTransportTLS`). */
export function isSecure(server: string): boolean {
  return server.startsWith('https://');
}

/** clientcmd's validateClusterInfo: what kubectl refuses for any server. */
function checkCluster(cluster: KubeconfigCluster, name: string, file: string): void {
  const fail = (message: string): never => {
    throw new KubeconfigError(`${name}: ${message}`, file);
  };
  if (cluster.caFile && cluster.caData)
    fail('certificate-authority and certificate-authority-data are both set');
  if (cluster.caFile) readable(cluster.caFile, 'certificate-authority', fail);
  if (cluster.proxyUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(cluster.proxyUrl);
    } catch {
      fail(`proxy-url ${cluster.proxyUrl} is not a URL`);
    }
    if (!['http:', 'https:', 'socks5:'].includes(url!.protocol))
      fail(`proxy-url ${cluster.proxyUrl}: unsupported scheme, must be http, https, or socks5`);
    // client-go also speaks socks5, and TLS to an https proxy checked against the cluster's CA;
    // Node's Agent neither, so these are refused rather than connected some other way.
    if (url!.protocol !== 'http:')
      fail(
        `proxy-url ${cluster.proxyUrl}: only http:// proxies are supported (not ${url!.protocol.slice(0, -1)})`,
      );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(cluster.server)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') fail(`server ${cluster.server}: not an http or https URL`);
}

/** clientcmd's validateAuthInfo: what kubectl refuses for any server. */
function checkUser(user: KubeconfigUser, name: string, file: string): void {
  const fail = (message: string): never => {
    throw new KubeconfigError(`${name}: ${message}`, file);
  };
  if (user.token && (user.username || user.password))
    fail('token and username/password are both set (only one authentication method is allowed)');
  if (user.certFile || user.certData) {
    if (user.certFile && user.certData) fail('client-certificate and client-certificate-data are both set');
    if (user.keyFile && user.keyData) fail('client-key and client-key-data are both set');
    if (!user.keyFile && !user.keyData) fail('client-certificate without client-key or client-key-data');
    if (user.certFile) readable(user.certFile, 'client-certificate', fail);
    if (user.keyFile) readable(user.keyFile, 'client-key', fail);
  }
  if (user.exec && user.authProvider) fail('exec and auth-provider are both set');
  if (user.exec) {
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const [command, apiVersion, mode] = [
      user.exec.command,
      user.exec.apiVersion,
      user.exec.interactiveMode,
    ].map(text);
    if (!command) fail('exec.command is missing');
    if (!apiVersion) fail('exec.apiVersion is missing');
    // client-go defaults the mode to IfAvailable only for the older credential API versions.
    const legacy = /^client\.authentication\.k8s\.io\/v1(alpha|beta)1$/.test(apiVersion!);
    if (!mode && !legacy) fail('exec.interactiveMode is missing (Never, IfAvailable or Always)');
    if (mode && !['Never', 'IfAvailable', 'Always'].includes(mode))
      fail(`exec.interactiveMode ${mode}: must be Never, IfAvailable or Always`);
  }
  const extras = Object.keys(user.impersonateExtra).length > 0;
  if ((user.impersonateUid || user.impersonateGroups.length > 0 || extras) && !user.impersonate)
    fail('as-uid, as-groups or as-user-extra without as (a user to impersonate)');
}

/** What client-go's transport refuses when it builds the TLS connection and round trippers. */
function checkTransport(
  selection: KubeconfigSelection,
  ctx: ContextEntry,
  clusterFile: string,
  userFile: string | undefined,
): void {
  const { cluster, user } = selection;
  const failCluster = (message: string): never => {
    throw new KubeconfigError(`cluster "${ctx.cluster}": ${message}`, clusterFile);
  };
  const failUser = (message: string): never => {
    throw new KubeconfigError(`user "${ctx.user}": ${message}`, userFile);
  };
  if (cluster.insecureSkipTlsVerify && (cluster.caFile || cluster.caData))
    failCluster('insecure-skip-tls-verify with a certificate-authority (client-go refuses both)');
  const ca = fileOrData(cluster.caFile, cluster.caData);
  if (ca && !pemCertificates(ca)) failCluster('certificate-authority holds no PEM certificate');
  if (user.username && (user.token || user.tokenFile))
    failUser('username/password and a bearer token are both set');
  if (user.tokenFile && !user.token) {
    let token: string;
    try {
      token = readFileSync(user.tokenFile, 'utf8').trim();
    } catch (err) {
      return failUser(`tokenFile ${user.tokenFile}: ${firstLine(err)}`);
    }
    if (token === '') failUser(`tokenFile ${user.tokenFile} is empty`);
  }
  const cert = fileOrData(user.certFile, user.certData);
  if (cert) {
    try {
      createSecureContext({ cert, key: fileOrData(user.keyFile, user.keyData) });
    } catch (err) {
      failUser(`client certificate and key: ${firstLine(err)}`);
    }
  }
}

/** At least one certificate in a PEM bundle parses, as Go's AppendCertsFromPEM requires. */
function pemCertificates(pem: Buffer): boolean {
  const blocks = pem
    .toString('latin1')
    .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  return (blocks ?? []).some((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
}

function readable(file: string, field: string, fail: (message: string) => never): void {
  try {
    readFileSync(file);
  } catch (err) {
    fail(`${field} ${file}: ${firstLine(err)}`);
  }
}

/**
 * The in-cluster service account as client-go's InClusterConfig reads it: https to
 * KUBERNETES_SERVICE_HOST:PORT whatever the port (the token must never go out in clear text),
 * the token file (required, re-read as it rotates) and the CA (the system's roots when ca.crt is
 * missing or unreadable, as client-go does).
 */
export function inClusterConfig(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): KubeconfigSelection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  if (host === '' || port === '')
    throw new KubeconfigError('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set');
  const tokenFile = join(dir, 'token');
  if (readFileSync(tokenFile, 'utf8').trim() === '') throw new KubeconfigError(`${tokenFile} is empty`);
  const caFile = join(dir, 'ca.crt');
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(caFile);
  } catch {
    ca = undefined;
  }
  return {
    cluster: {
      server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: ca && pemCertificates(ca) ? caFile : undefined,
      insecureSkipTlsVerify: false,
    },
    user: { tokenFile, impersonateGroups: [], impersonateExtra: {} },
    userName: 'in-cluster',
    files: [],
    context: undefined,
  };
}

interface ParsedFile {
  readonly clusters: Map<string, KubeconfigCluster>;
  readonly users: Map<string, KubeconfigUser>;
  readonly contexts: Map<string, ContextEntry>;
  readonly currentContext: string | undefined;
}

/**
 * Parses one kubeconfig's text as clientcmd's v1 Config (YAML 1.1, as Go's yaml.v2 reads it;
 * a field of the wrong type, bad base64 or a name twice in a list is an error); `base` is the
 * directory relative paths start from.
 */
export function parseKubeconfig(text: string, base: string): ParsedFile {
  let doc: unknown;
  try {
    doc = parse(text, { version: '1.1' });
  } catch (err) {
    throw new KubeconfigError(`not valid YAML: ${firstLine(err)}`);
  }
  if (doc !== null && doc !== undefined && !isMapping(doc))
    throw new KubeconfigError('not a kubeconfig (expected a mapping with clusters, users and contexts)');
  const root = doc ?? {};
  const path = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : isAbsolute(p) ? p : join(base, p);

  const clusters = new Map<string, KubeconfigCluster>();
  for (const [where, name, c] of namedList(root, 'clusters', 'cluster')) {
    if (clusters.has(name)) throw new KubeconfigError(`${where}: cluster "${name}" is defined twice`);
    clusters.set(name, {
      server: serverUrl(string(c.server, `${where}.cluster.server`) ?? ''),
      caFile: path(string(c['certificate-authority'], `${where}.cluster.certificate-authority`)),
      caData: base64(c['certificate-authority-data'], `${where}.cluster.certificate-authority-data`),
      insecureSkipTlsVerify:
        boolean(c['insecure-skip-tls-verify'], `${where}.cluster.insecure-skip-tls-verify`) ?? false,
      tlsServerName: string(c['tls-server-name'], `${where}.cluster.tls-server-name`),
      proxyUrl: string(c['proxy-url'], `${where}.cluster.proxy-url`),
    });
  }
  const users = new Map<string, KubeconfigUser>();
  for (const [where, name, u] of namedList(root, 'users', 'user')) {
    if (users.has(name)) throw new KubeconfigError(`${where}: user "${name}" is defined twice`);
    const field = (key: string): string | undefined => string(u[key], `${where}.user.${key}`);
    const exec = optionalMapping(u.exec, `${where}.user.exec`);
    const command = exec && string(exec.command, `${where}.user.exec.command`);
    if (exec)
      for (const key of ['apiVersion', 'interactiveMode']) string(exec[key], `${where}.user.exec.${key}`);
    users.set(name, {
      token: field('token'),
      tokenFile: path(field('tokenFile')),
      certFile: path(field('client-certificate')),
      certData: base64(u['client-certificate-data'], `${where}.user.client-certificate-data`),
      keyFile: path(field('client-key')),
      keyData: base64(u['client-key-data'], `${where}.user.client-key-data`),
      username: field('username'),
      password: field('password'),
      impersonate: field('as'),
      impersonateUid: field('as-uid'),
      impersonateGroups: stringList(u['as-groups'], `${where}.user.as-groups`),
      impersonateExtra: stringListMap(u['as-user-extra'], `${where}.user.as-user-extra`),
      // client-go resolves an exec command against the kubeconfig's directory only when it is a
      // path (has a separator), not a name looked up in PATH.
      exec:
        exec && command?.includes(sep) && !isAbsolute(command) ? { ...exec, command: path(command) } : exec,
      authProvider: optionalMapping(u['auth-provider'], `${where}.user.auth-provider`),
    });
  }
  const contexts = new Map<string, ContextEntry>();
  for (const [where, name, c] of namedList(root, 'contexts', 'context')) {
    if (contexts.has(name)) throw new KubeconfigError(`${where}: context "${name}" is defined twice`);
    contexts.set(name, {
      cluster: string(c.cluster, `${where}.context.cluster`) ?? '',
      user: string(c.user, `${where}.context.user`) ?? '',
    });
  }
  return {
    clusters,
    users,
    contexts,
    currentContext: string(root['current-context'], 'current-context'),
  };
}

/**
 * A server URL as client-go uses it: without a scheme it is plain http (client-go adds https only
 * when TLS settings are in the same rest.Config, which clientcmd fills in after choosing).
 */
function serverUrl(server: string): string {
  if (server === '') return '';
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(server)?.[0];
  const url = scheme ? scheme.toLowerCase() + server.slice(scheme.length) : `http://${server}`;
  return url.replace(/\/+$/, '');
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
    const cert = fileOrData(user.certFile, user.certData);
    return {
      ca: fileOrData(cluster.caFile, cluster.caData),
      cert,
      key: cert ? fileOrData(user.keyFile, user.keyData) : undefined,
      rejectUnauthorized: cluster.insecureSkipTlsVerify ? false : undefined,
      servername: cluster.tlsServerName,
    };
  }

  /**
   * Authorization and impersonation headers. Authorization only over https, as client-go. A token
   * file takes precedence over an inline token (rest.Config's BearerTokenFile over BearerToken); it
   * is re-read once a minute, and when it cannot be read the last value read (else the inline
   * token) is used, as client-go's cached file token source does.
   */
  headers(now = Date.now()): Record<string, string | string[]> {
    const { cluster, user } = this.selection;
    const headers: Record<string, string | string[]> = {};
    if (isSecure(cluster.server)) {
      const token = this._bearer(now);
      if (token) headers.authorization = `Bearer ${token}`;
      else if (user.username)
        headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    }
    if (user.impersonate) {
      headers['impersonate-user'] = user.impersonate;
      if (user.impersonateUid) headers['impersonate-uid'] = user.impersonateUid;
      if (user.impersonateGroups.length > 0) headers['impersonate-group'] = [...user.impersonateGroups];
      for (const [key, values] of Object.entries(user.impersonateExtra))
        if (values.length > 0) headers[`impersonate-extra-${headerKeyEscape(key)}`] = [...values];
    }
    return headers;
  }

  private _bearer(now: number): string | undefined {
    const { token, tokenFile } = this.selection.user;
    if (!tokenFile) return token;
    if (!this._token || now - this._token.readAt > TOKEN_FILE_TTL_MS) {
      try {
        const value = readFileSync(tokenFile, 'utf8').trim();
        if (value !== '') this._token = { value, readAt: now };
      } catch {
        // Kept: the last token read, else the inline one (client-go logs "Unable to rotate token").
      }
    }
    return this._token?.value ?? token;
  }
}

/**
 * Which plugin supplies the credential, if any, as client-go decides: an exec plugin only when the
 * user has no token, token file, basic auth or client certificate; an auth-provider when there is
 * no token, token file or basic auth. Never over plain http.
 */
export function pluginOf(selection: KubeconfigSelection): 'exec' | 'auth-provider' | undefined {
  const { cluster, user } = selection;
  if (!isSecure(cluster.server) || user.token || user.tokenFile || user.username) return undefined;
  if (user.exec) return user.certFile || user.certData ? undefined : 'exec';
  return user.authProvider ? 'auth-provider' : undefined;
}

/** client-go's headerKeyEscape: bytes that are not HTTP token characters, and '%', as %XX. */
function headerKeyEscape(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A named list (`clusters`, `users`, `contexts`): [where, name, the inner mapping]. */
function namedList(
  root: Record<string, unknown>,
  list: string,
  inner: string,
): [string, string, Record<string, unknown>][] {
  const value = root[list];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KubeconfigError(`${list}: expected a list`);
  return value.map((entry: unknown, i) => {
    const where = `${list}[${i}]`;
    if (!isMapping(entry)) throw new KubeconfigError(`${where}: expected a mapping`);
    return [
      where,
      string(entry.name, `${where}.name`) ?? '',
      optionalMapping(entry[inner], `${where}.${inner}`) ?? {},
    ];
  });
}

function optionalMapping(value: unknown, where: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) throw new KubeconfigError(`${where}: expected a mapping`);
  return value;
}

function string(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new KubeconfigError(`${where}: expected a string, got ${typeof value}`);
  return value;
}

function boolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new KubeconfigError(`${where}: expected true or false`);
  return value;
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KubeconfigError(`${where}: expected a list of strings`);
  return value.map((v, i) => {
    if (typeof v !== 'string') throw new KubeconfigError(`${where}[${i}]: expected a string`);
    return v;
  });
}

function stringListMap(value: unknown, where: string): Record<string, string[]> {
  const map = optionalMapping(value, where) ?? {};
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, stringList(v, `${where}.${k}`)]));
}

/** Base64 as Go's encoding/json reads []byte (standard alphabet, padded, newlines ignored). */
function base64(value: unknown, where: string): string | undefined {
  const text = string(value, where);
  if (text === undefined) return undefined;
  const compact = text.replace(/[\r\n]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact))
    throw new KubeconfigError(`${where}: not valid base64`);
  return compact;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
