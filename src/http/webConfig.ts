import { dirname, isAbsolute, join } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { ConfigError } from '../config/ConfigError.ts';
import { joinKey, YamlReader } from '../config/YamlReader.ts';
import type { YamlEntries } from '../config/YamlReader.ts';

/**
 * The web config file of Prometheus exporters (exporter-toolkit's `--web.config.file`): TLS,
 * basic auth users and response headers. Same keys, defaults and validation rules.
 */
export interface WebConfig {
  readonly file: string;
  readonly tls: TlsServerConfig | undefined;
  /** user → bcrypt hash. Empty: no basic auth. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
  /** Accepted for compatibility; the bridge serves HTTP/1.1 only. */
  readonly http2: boolean;
}

export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

export type TlsVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsServerConfig {
  /** Absolute paths (relative ones are resolved against the web config file's directory). */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly clientCaFile: string | undefined;
  /** Inline PEM (`cert`, `key`, `client_ca`), used when the matching file is not given. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly clientCa: string | undefined;
  readonly clientAuth: ClientAuthType;
  readonly minVersion: TlsVersionName;
  readonly maxVersion: TlsVersionName;
  /** OpenSSL cipher string for TLS ≤ 1.2, mapped from Go names; undefined: Node's defaults. */
  readonly ciphers: string | undefined;
  /** OpenSSL curve list (`ecdhCurve`); undefined: Node's defaults. */
  readonly ecdhCurve: string | undefined;
  readonly preferServerCipherSuites: boolean;
  /** Client certificates must carry one of these SANs (DNS, email, IP or URI). */
  readonly clientAllowedSans: readonly string[] | undefined;
}

const ROOT_KEYS = ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit'];
const TLS_KEYS = [
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'cipher_suites',
  'curve_preferences',
  'min_version',
  'max_version',
  'prefer_server_cipher_suites',
  'client_allowed_sans',
];
const HTTP_KEYS = ['http2', 'headers'];

const CLIENT_AUTH: Record<string, ClientAuthType> = {
  '': 'NoClientCert',
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  RequireClientCert: 'RequireAnyClientCert', // kept by exporter-toolkit for backwards compatibility
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};

const TLS_VERSIONS: Record<string, TlsVersionName> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const VERSION_ORDER: readonly TlsVersionName[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Go's `tls.CipherSuites()` names (the ones exporter-toolkit accepts) → OpenSSL names. The TLS 1.3
 * suites map to null: Go does not let them be configured and ignores them, and so do we.
 */
export const GO_CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** exporter-toolkit's curve names → OpenSSL group names. */
const GO_CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/**
 * Response headers an exporter may set, with the allowed values where the header is an
 * enumeration (exporter-toolkit keeps this list closed for consistency across exporters).
 */
const ALLOWED_HEADERS: Readonly<Record<string, readonly string[] | null>> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};

/** bcrypt hashes: $2a$, $2b$, $2y$ (and $2x$), two-digit cost, 53 characters of salt and hash. */
const BCRYPT_HASH = /^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/**
 * Parses a web config file's text. Throws ConfigError naming the file, line, column and key of
 * every problem (unknown keys, wrong types, unknown cipher or curve, a password that is not a
 * bcrypt hash, a header that cannot be set). Relative file paths are resolved against the
 * file's directory, as exporter-toolkit does.
 */
export function parseWebConfig(text: string, file: string): WebConfig {
  const lines = new LineCounter();
  const r = new YamlReader(file, lines);
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  for (const err of [...doc.errors, ...doc.warnings]) {
    const pos = err.linePos?.[0] ?? lines.linePos(err.pos[0]);
    r.reportAt(
      { file, line: pos.line, column: pos.col, keyPath: '' },
      `YAML: ${err.message.split('\n')[0] ?? err.message}`,
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  const root = doc.contents as Node | null;
  const entries: YamlEntries = r.entries(root, '', ROOT_KEYS) ?? new Map<string, never>();
  const base = dirname(file);

  const tls = readTls(r, entries.get('tls_server_config')?.value ?? null, base);
  const basicAuthUsers = new Map<string, string>();
  for (const [user, { value }] of r.stringMap(
    entries.get('basic_auth_users')?.value ?? null,
    'basic_auth_users',
  )) {
    const keyPath = joinKey('basic_auth_users', user);
    const cost = BCRYPT_HASH.exec(value);
    if (!cost) {
      r.report(
        r.nodeMap(entries.get('basic_auth_users')?.value ?? null, 'basic_auth_users').get(user)?.value,
        keyPath,
        'expected a bcrypt hash ($2y$10$...; create one with `htpasswd -nBC 10 "" | tr -d \':\\n\'`)',
      );
      continue;
    }
    const rounds = Number(cost[1]);
    if (rounds < 4 || rounds > 31) {
      r.report(null, keyPath, `bcrypt cost ${rounds} is out of range (4-31)`, root);
      continue;
    }
    basicAuthUsers.set(user, value);
  }

  let http2 = true;
  const headers: Record<string, string> = {};
  const httpEntries = r.entries(
    entries.get('http_server_config')?.value ?? null,
    'http_server_config',
    HTTP_KEYS,
  );
  if (httpEntries) {
    http2 = r.bool(httpEntries.get('http2')?.value, 'http_server_config.http2') ?? true;
    const headerNode = httpEntries.get('headers')?.value ?? null;
    for (const [name, { value, key }] of r.stringMap(headerNode, 'http_server_config.headers')) {
      const keyPath = joinKey('http_server_config.headers', name);
      if (!(name in ALLOWED_HEADERS)) {
        r.report(
          key,
          keyPath,
          `HTTP header "${name}" can not be configured (allowed: ${Object.keys(ALLOWED_HEADERS).join(', ')})`,
        );
        continue;
      }
      const allowed = ALLOWED_HEADERS[name];
      if (allowed && !allowed.includes(value)) {
        r.report(key, keyPath, `invalid value "${value}" (expected one of: ${allowed.join(', ')})`);
        continue;
      }
      headers[name] = value;
    }
  }
  const rateLimit = entries.get('rate_limit');
  if (
    rateLimit &&
    !(isScalar(rateLimit.value) && rateLimit.value.value === null) &&
    rateLimit.value !== null
  ) {
    r.report(
      rateLimit.key,
      'rate_limit',
      'rate_limit is not supported by crd-metrics-bridge (use --web.max-requests to bound parallel scrapes)',
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return { file, tls, basicAuthUsers, headers, http2 };
}

function readTls(r: YamlReader, node: Node | null, base: string): TlsServerConfig | undefined {
  const p = 'tls_server_config';
  const e = r.entries(node, p, TLS_KEYS);
  if (!e || e.size === 0) return undefined;
  const str = (key: string) => r.string(e.get(key)?.value, joinKey(p, key));
  const path = (key: string) => {
    const v = str(key);
    if (v === undefined || v === '') return undefined;
    return isAbsolute(v) ? v : join(base, v);
  };
  const certFile = path('cert_file');
  const keyFile = path('key_file');
  const clientCaFile = path('client_ca_file');
  const cert = str('cert') || undefined;
  const key = str('key') || undefined;
  const clientCa = str('client_ca') || undefined;
  const clientAuthText = str('client_auth_type') ?? '';
  const enabled =
    certFile !== undefined ||
    keyFile !== undefined ||
    cert !== undefined ||
    key !== undefined ||
    clientCaFile !== undefined ||
    clientCa !== undefined ||
    clientAuthText !== '';
  if (!enabled) return undefined;
  const owner = node;
  if (certFile === undefined && cert === undefined) r.report(owner, p, 'missing one of cert or cert_file');
  if (keyFile === undefined && key === undefined) r.report(owner, p, 'missing one of key or key_file');

  const clientAuth = CLIENT_AUTH[clientAuthText];
  if (clientAuth === undefined) {
    r.report(
      e.get('client_auth_type')?.value,
      joinKey(p, 'client_auth_type'),
      `invalid client_auth_type "${clientAuthText}" (expected one of: ${Object.keys(CLIENT_AUTH).filter(Boolean).join(', ')})`,
    );
  }
  if (
    (clientCaFile !== undefined || clientCa !== undefined) &&
    (clientAuth ?? 'NoClientCert') === 'NoClientCert'
  ) {
    r.report(
      e.get('client_ca_file')?.key ?? e.get('client_ca')?.key,
      joinKey(p, 'client_ca_file'),
      "client CA's have been configured without a client_auth_type that asks for a certificate",
    );
  }
  const version = (key: string, fallback: TlsVersionName): TlsVersionName => {
    const text = str(key);
    if (text === undefined || text === '') return fallback;
    const v = TLS_VERSIONS[text];
    if (!v) {
      r.report(
        e.get(key)?.value,
        joinKey(p, key),
        `unknown TLS version "${text}" (expected TLS10, TLS11, TLS12 or TLS13)`,
      );
      return fallback;
    }
    return v;
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion))
    r.report(e.get('min_version')?.value, joinKey(p, 'min_version'), 'min_version is above max_version');

  let ciphers: string | undefined;
  const cipherNames = r.stringList(e.get('cipher_suites')?.value, joinKey(p, 'cipher_suites'));
  if (cipherNames && cipherNames.length > 0) {
    const openssl: string[] = [];
    cipherNames.forEach((name, i) => {
      if (!(name in GO_CIPHER_SUITES)) {
        r.report(
          listItem(e.get('cipher_suites')?.value, i),
          `${joinKey(p, 'cipher_suites')}[${i}]`,
          `unknown cipher: ${name}`,
        );
        return;
      }
      const mapped = GO_CIPHER_SUITES[name];
      if (mapped) openssl.push(mapped);
    });
    if (openssl.length > 0) ciphers = openssl.join(':');
  }
  let ecdhCurve: string | undefined;
  const curveNames = r.stringList(e.get('curve_preferences')?.value, joinKey(p, 'curve_preferences'));
  if (curveNames && curveNames.length > 0) {
    const groups: string[] = [];
    curveNames.forEach((name, i) => {
      const group = GO_CURVES[name];
      if (!group) {
        r.report(
          listItem(e.get('curve_preferences')?.value, i),
          `${joinKey(p, 'curve_preferences')}[${i}]`,
          `unknown curve: ${name} (expected one of: ${Object.keys(GO_CURVES).join(', ')})`,
        );
        return;
      }
      groups.push(group);
    });
    ecdhCurve = groups.join(':');
  }
  const clientAllowedSans = r.stringList(
    e.get('client_allowed_sans')?.value,
    joinKey(p, 'client_allowed_sans'),
  );
  if (
    clientAllowedSans !== undefined &&
    clientAuth !== 'RequireAnyClientCert' &&
    clientAuth !== 'RequireAndVerifyClientCert'
  ) {
    r.report(
      e.get('client_allowed_sans')?.key,
      joinKey(p, 'client_allowed_sans'),
      'client_allowed_sans requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert',
    );
  }
  return {
    certFile,
    keyFile,
    clientCaFile,
    cert,
    key,
    clientCa,
    clientAuth: clientAuth ?? 'NoClientCert',
    minVersion,
    maxVersion,
    ciphers,
    ecdhCurve,
    preferServerCipherSuites:
      r.bool(e.get('prefer_server_cipher_suites')?.value, joinKey(p, 'prefer_server_cipher_suites')) ?? true,
    clientAllowedSans,
  };
}

function listItem(node: Node | null | undefined, index: number): Node | null | undefined {
  if (!node || isMap(node) || isScalar(node)) return node;
  return ((node as { items?: unknown[] }).items?.[index] as Node | undefined) ?? node;
}
