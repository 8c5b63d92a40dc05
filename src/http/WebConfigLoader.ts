import { readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError, formatProblem } from '../config/ConfigError.ts';
import { BasicAuthenticator } from './basicAuth.ts';
import { BcryptPool } from './BcryptPool.ts';
import { PROBE_PATHS } from './requestGuard.ts';
import type { RequestGuard } from './requestGuard.ts';
import { parseWebConfig } from './webConfig.ts';
import type { TlsServerConfig, WebConfig } from './webConfig.ts';

// Not an ESM import: its facade loads Node's bundled undici (eslint.config.js says why).
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');

/** A web config that cannot be used; the message is one line naming the file and key. */
export class WebConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebConfigError';
  }
}

/** Whether the last look at the web config file found it usable (a self-metric). */
export interface WebConfigReloadStatus {
  readonly file: string;
  /** False from a change that does not load until a change that does. */
  readonly ok: boolean;
  /** When the running web config was loaded (Unix seconds). */
  readonly successAt: number;
}

/** Server-side options that decide how client certificates are asked for and checked. */
interface ClientCertPolicy {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/**
 * The running `--web.config.file`: reads and validates it at start (throws WebConfigError), then
 * follows changes without a restart, as exporter-toolkit does. On every new connection (before
 * its TLS handshake) and every request, the web config file and the certificate, key and client
 * CA files are checked with stat(); a change is re-read and, if valid, used from then on: new
 * connections see a rotated certificate. A change that does not load (a half-written file, a key
 * that does not match the certificate, a bad key in the web config) is logged once, shows in
 * `reloadStatus` (a self-metric), and the last good state keeps serving. Switching TLS on or off
 * needs a restart (it changes the listener).
 */
export class WebConfigLoader {
  private readonly _file: string;
  private readonly _logger: Logger;
  private _config: WebConfig;
  private _authenticator: BasicAuthenticator;
  private _configSignature: string;
  private _tlsSignature = '';
  private _secureOptions: SecureContextOptions | undefined;
  private readonly _servers = new Set<HttpsServer>();
  private _lastReported = '';
  private _reloadOk = true;
  private _successAt = Date.now() / 1000;
  /** bcrypt workers, shared by the authenticators of successive web configs. */
  private readonly _bcrypt: BcryptPool;

  private constructor(file: string, logger: Logger, config: WebConfig, signature: string) {
    this._file = file;
    this._logger = logger;
    this._config = config;
    this._configSignature = signature;
    let workerErrorLoggedAt = -Infinity;
    this._bcrypt = new BcryptPool({
      // At most once a minute: a worker that cannot start fails every check.
      onWorkerError: (err) => {
        if (Date.now() - workerErrorLoggedAt < 60_000) return;
        workerErrorLoggedAt = Date.now();
        logger.error({ err: err.message }, 'bcrypt worker failed; the password checks it had get 503');
      },
    });
    this._authenticator = new BasicAuthenticator(config.basicAuthUsers, { pool: this._bcrypt });
    if (config.tls) {
      this._tlsSignature = tlsSignature(config.tls);
      this._secureOptions = secureContextOptions(config);
    }
  }

  /** Reads and checks the file and the TLS material it names; throws WebConfigError. */
  static load(file: string, logger: Logger): WebConfigLoader {
    const config = readWebConfig(file);
    const signature = fileSignature(file);
    if (config.tls) secureContextOptions(config); // throws if the certificate or key do not load
    return new WebConfigLoader(file, logger, config, signature);
  }

  get config(): WebConfig {
    return this._config;
  }

  get tls(): boolean {
    return this._config.tls !== undefined;
  }

  get reloadStatus(): WebConfigReloadStatus {
    return { file: this._file, ok: this._reloadOk, successAt: this._successAt };
  }

  /**
   * Builds a listener's server: plain HTTP, or HTTPS with the client-certificate policy of
   * `client_auth_type`. Pass it as HttpServer's `createServer`.
   */
  readonly createServer = (listener: RequestListener): Server | HttpsServer => {
    if (!this._config.tls || !this._secureOptions) return createHttpServer(listener);
    const server = createHttpsServer(
      { ...this._secureOptions, ...clientCertPolicy(this._config.tls), ALPNProtocols: ['http/1.1'] },
      listener,
    );
    this._servers.add(server);
    server.on('close', () => this._servers.delete(server));
    // Runs before Node's own listener wraps the socket in TLS, so a rotated certificate (or a
    // changed client_auth_type) applies to this very connection.
    server.prependListener('connection', () => this.refresh());
    server.on('secureConnection', (socket: TLSSocket) => {
      const tls = this._config.tls;
      const problem = tls ? clientCertProblem(tls, socket) : undefined;
      if (problem) {
        this._logger.debug({ remote: socket.remoteAddress, problem }, 'TLS client refused');
        socket.destroy();
      }
    });
    server.on('tlsClientError', (err, socket) => {
      this._logger.debug({ err: err.message, remote: socket.remoteAddress }, 'TLS handshake failed');
    });
    return server;
  };

  /**
   * Headers of `http_server_config.headers` on every response, and basic auth on every path but
   * the health probes (kubelet cannot send credentials; they reveal nothing), which are let
   * through before any authentication work. Too many password checks pending: 429 at once.
   */
  readonly guard: RequestGuard = async (request, path) => {
    this.refresh();
    const headers = this._config.headers;
    const authenticator = this._authenticator;
    if (!authenticator.enabled || PROBE_PATHS.has(path)) return { headers };
    switch (await authenticator.check(request.headers.authorization, request.socket.remoteAddress)) {
      case 'allowed':
        return { headers };
      case 'busy':
        return {
          headers: { ...headers, 'retry-after': '1' },
          deny: { status: 429, body: 'too many password checks in progress, try again later\n' },
        };
      case 'unavailable':
        return {
          headers,
          deny: { status: 503, body: 'cannot check the password now, try again later\n' },
        };
      case 'denied':
        return {
          headers: { ...headers, 'www-authenticate': 'Basic' },
          deny: { status: 401, body: 'Unauthorized\n' },
        };
    }
  };

  /** Re-reads what changed on disk; keeps the last good state when the new one does not load. */
  refresh(): void {
    let signature: string;
    try {
      signature = fileSignature(this._file);
    } catch (err) {
      this._reportOnce(`unreadable:${(err as Error).message}`, (err as Error).message);
      return;
    }
    let config = this._config;
    if (signature !== this._configSignature) {
      try {
        config = readWebConfig(this._file);
      } catch (err) {
        this._reportOnce(signature, (err as Error).message);
        return;
      }
      if ((config.tls === undefined) !== (this._config.tls === undefined)) {
        this._reportOnce(
          signature,
          `${this._file}: tls_server_config: turning TLS ${config.tls ? 'on' : 'off'} needs a restart`,
        );
        return;
      }
    }
    if (config.tls) {
      let tlsSig: string;
      try {
        tlsSig = tlsSignature(config.tls);
      } catch (err) {
        this._reportOnce(`tls:${(err as Error).message}`, (err as Error).message);
        return;
      }
      if (config !== this._config || tlsSig !== this._tlsSignature) {
        let options: SecureContextOptions;
        try {
          options = secureContextOptions(config);
        } catch (err) {
          this._reportOnce(`${signature}/${tlsSig}`, (err as Error).message);
          return;
        }
        const policy = clientCertPolicy(config.tls);
        for (const server of this._servers) {
          server.setSecureContext(options);
          Object.assign(server as unknown as ClientCertPolicy, policy);
        }
        this._secureOptions = options;
        this._tlsSignature = tlsSig;
        this._successAt = Date.now() / 1000;
        this._logger.info({ file: this._file }, 'TLS certificate and settings (re)loaded');
      }
    }
    if (config !== this._config) {
      this._config = config;
      this._configSignature = signature;
      this._authenticator = new BasicAuthenticator(config.basicAuthUsers, { pool: this._bcrypt });
      this._successAt = Date.now() / 1000;
      this._logger.info({ file: this._file }, 'web config reloaded');
    }
    this._lastReported = '';
    this._reloadOk = true;
  }

  private _reportOnce(key: string, message: string): void {
    this._reloadOk = false;
    if (key === this._lastReported) return;
    this._lastReported = key;
    this._logger.error({ file: this._file }, `web config not reloaded; keeping the running one: ${message}`);
  }
}

/** Reads and parses the file; any problem becomes one WebConfigError line. */
function readWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WebConfigError(`cannot read web config file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseWebConfig(text, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Every problem at once, in one line: a fix-one-restart-find-the-next loop wastes a rollout.
    throw new WebConfigError(err.problems.map(formatProblem).join('; '));
  }
}

/** Certificate, key and CA as Node wants them; throws WebConfigError naming the key. */
function secureContextOptions(config: WebConfig): SecureContextOptions {
  const tls = config.tls!;
  const read = (path: string | undefined, inline: string | undefined, key: string) => {
    if (path === undefined) return inline;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new WebConfigError(
        `${config.file}: tls_server_config.${key}: cannot read ${path}: ${(err as Error).message}`,
      );
    }
  };
  const options: SecureContextOptions = {
    cert: read(tls.certFile, tls.cert, 'cert_file'),
    key: read(tls.keyFile, tls.key, 'key_file'),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    honorCipherOrder: tls.preferServerCipherSuites,
  };
  const ca = read(tls.clientCaFile, tls.clientCa, 'client_ca_file');
  if (ca !== undefined) options.ca = ca;
  if (tls.ciphers !== undefined) options.ciphers = tls.ciphers;
  if (tls.ecdhCurve !== undefined) options.ecdhCurve = tls.ecdhCurve;
  try {
    createSecureContext(options);
  } catch (err) {
    throw new WebConfigError(
      `${config.file}: tls_server_config: the certificate, key or client CA do not load: ${(err as Error).message}`,
    );
  }
  return options;
}

function clientCertPolicy(tls: TlsServerConfig): ClientCertPolicy {
  return {
    requestCert: tls.clientAuth !== 'NoClientCert',
    // Only RequireAndVerifyClientCert fails the handshake itself; the optional and unverified
    // modes are checked after it (clientCertProblem), as Go's crypto/tls distinguishes them.
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
  };
}

/** Why a connection must be closed under the configured policy; undefined if it may stay. */
function clientCertProblem(tls: TlsServerConfig, socket: TLSSocket): string | undefined {
  const peer = socket.getPeerCertificate();
  const hasCert = peer !== null && Object.keys(peer).length > 0;
  switch (tls.clientAuth) {
    case 'RequireAnyClientCert':
      if (!hasCert) return 'no client certificate';
      break;
    case 'VerifyClientCertIfGiven':
      if (hasCert && !socket.authorized)
        return `client certificate not verified: ${String(socket.authorizationError)}`;
      break;
    case 'RequireAndVerifyClientCert':
      if (!hasCert || !socket.authorized) return 'no verified client certificate';
      break;
    default:
      break;
  }
  if (tls.clientAllowedSans && hasCert) {
    const sans = certificateSans(peer.subjectaltname ?? '');
    const allowed = tls.clientAllowedSans.map(canonicalIp);
    if (!sans.some((san) => allowed.includes(san))) return 'client certificate has no allowed SAN';
  }
  return undefined;
}

/**
 * The SANs of Node's `subjectaltname` text without their type (DNS, email, IP Address, URI), IPs
 * in the form Go prints them: Node writes IPv6 addresses in full and in upper case
 * (2001:DB8:0:0:0:0:0:1), exporter-toolkit compares with Go's compressed form (2001:db8::1).
 */
export function certificateSans(subjectAltName: string): string[] {
  return subjectAltName
    .split(', ')
    .filter((entry) => entry !== '')
    .map((entry) =>
      entry.startsWith('IP Address:')
        ? canonicalIp(entry.slice('IP Address:'.length))
        : entry.replace(/^(DNS|email|URI):/, ''),
    );
}

/** An IPv6 address in its canonical (RFC 5952) form, as Go prints it; anything else unchanged. */
function canonicalIp(text: string): string {
  if (!isIPv6(text)) return text;
  // The WHATWG URL parser serializes IPv6 hosts in the RFC 5952 form.
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** What identifies a file's content for change detection (a Secret update swaps a symlink). */
function fileSignature(path: string): string {
  const s = statSync(path);
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

function tlsSignature(tls: TlsServerConfig): string {
  return [tls.certFile, tls.keyFile, tls.clientCaFile]
    .map((path) => {
      if (path === undefined) return '-';
      try {
        return fileSignature(path);
      } catch {
        return 'missing';
      }
    })
    .join('|');
}
