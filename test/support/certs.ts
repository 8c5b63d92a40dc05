import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** PEM files of a certificate and its key. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA (EC P-256) in `dir`, made with the openssl CLI. */
export function makeCa(dir: string, name: string): CertFiles {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

export interface CertOptions {
  /** subjectAltName; default IP:127.0.0.1,DNS:localhost for a server, DNS:prometheus.example for a client. */
  readonly subjectAltName?: string;
  /** Subject; default /CN=<name>. */
  readonly subject?: string;
}

/**
 * A certificate signed by `ca`: a server certificate for 127.0.0.1 and localhost, or a client
 * certificate (`usage: 'client'`). Written to `<name>.crt` / `<name>.key` in `dir`.
 */
export function makeCert(
  dir: string,
  ca: CertFiles,
  name: string,
  usage: 'server' | 'client' = 'server',
  options: CertOptions = {},
): CertFiles {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    `subjectAltName=${options.subjectAltName ?? (usage === 'server' ? 'IP:127.0.0.1,DNS:localhost' : 'DNS:prometheus.example')}\n` +
      `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}\n`,
  );
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    options.subject ?? `/CN=${name}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

export function pem(file: string): string {
  return readFileSync(file, 'utf8');
}
