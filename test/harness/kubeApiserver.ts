import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary } from './binaries.ts';
import { freePort } from './ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess } from './processes.ts';
import type { ManagedProcess } from './processes.ts';

export interface KubeApiserverOptions {
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=Foo=true']; appended last so they win. */
  extraArgs?: string[];
  startTimeoutMs?: number;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface KubectlOptions {
  input?: string;
  /** Default: the admin kubeconfig. */
  kubeconfig?: string;
  timeoutMs?: number;
}

export interface KubeApiserverHandle {
  /** https://127.0.0.1:port */
  readonly url: string;
  /** PEM file of the CA that signed the serving certificate (and the admin client certificate). */
  readonly caFile: string;
  readonly caPem: string;
  /** Base64 of caPem, as kubeconfig's certificate-authority-data wants it. */
  readonly caData: string;
  /** Kubeconfig authenticating as a member of system:masters. */
  readonly adminKubeconfigPath: string;
  readonly adminClientCertFile: string;
  readonly adminClientKeyFile: string;
  /** The API server's serving certificate and key (SAN 127.0.0.1): a TLS-terminating proxy can reuse them. */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly etcdUrl: string;
  readonly logFiles: { etcd: string; kubeApiserver: string };
  /** Runs kubectl against this server; never throws on a non-zero exit, check `code`. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Ensures the namespace and ServiceAccount exist and returns a fresh token for it. */
  serviceAccountToken(namespace: string, serviceAccount: string): Promise<string>;
  /** Same, written as a kubeconfig (current namespace = `namespace`); returns its path. */
  createServiceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string>;
  /** Stops the kube-apiserver process only (etcd keeps the data), as in an API server outage. */
  stopApiserver(): Promise<void>;
  /** Starts it again on the same address. */
  startApiserver(): Promise<void>;
  /** Stops etcd only (the API server stays up, failing its storage calls). */
  stopEtcd(): Promise<void>;
  /** Starts etcd again on the same address and data directory. */
  startEtcd(): Promise<void>;
  /**
   * Compacts etcd's history up to its current revision (physically, as the API server's own
   * periodic compaction does), through etcd's v3 HTTP/JSON gateway; returns that revision.
   */
  compactEtcd(): Promise<number>;
  /**
   * A second kube-apiserver on the same etcd (another port): lets a test change objects while
   * the first one, which the bridge talks to, is down.
   */
  startSecondApiserver(): Promise<{
    kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
    stop(): Promise<void>;
  }>;
  stop(): Promise<void>;
}

// A private openssl config so the system one (e.g. its default v3_ca
// extensions) cannot add or duplicate extensions.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPrivateKey: string;
  saPublicKey: string;
}

/** One throwaway CA per server: it signs the serving cert and the admin client cert. */
function generatePki(dir: string): Pki {
  const openssl = findBinary('openssl');
  const file = (name: string): string => path.join(dir, name);
  const cnf = file('openssl.cnf');
  writeFileSync(cnf, OPENSSL_CONFIG);
  const run = (args: string[]): void => {
    try {
      execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`openssl ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
    }
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  // prettier-ignore
  run([
    'req', '-x509', '-new', '-config', cnf, '-extensions', 'ca_ext', ...newKey,
    '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=crd-metrics-bridge-test-ca',
  ]);
  const issue = (name: string, subject: string, extensions: string): void => {
    // prettier-ignore
    run(['req', '-new', '-config', cnf, ...newKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject]);
    // prettier-ignore
    run([
      'x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2',
      '-extfile', cnf, '-extensions', extensions, '-out', file(`${name}.crt`),
    ]);
  };
  issue('server', '/CN=kube-apiserver', 'server_ext');
  // O=system:masters is bound to cluster-admin by RBAC's bootstrap policy.
  issue('admin', '/O=system:masters/CN=crd-metrics-bridge-admin', 'client_ext');
  const sa = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(file('sa.key'), sa.privateKey, { mode: 0o600 });
  writeFileSync(file('sa.pub'), sa.publicKey);
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    saPrivateKey: file('sa.key'),
    saPublicKey: file('sa.pub'),
  };
}

function b64File(file: string): string {
  return readFileSync(file).toString('base64');
}

function writeKubeconfig(
  file: string,
  server: string,
  caData: string,
  user: Record<string, string>,
  namespace?: string,
): void {
  // JSON is valid YAML, and every kubeconfig loader accepts it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: 'test-user', user }],
    contexts: [
      { name: 'test', context: { cluster: 'test', user: 'test-user', ...(namespace ? { namespace } : {}) } },
    ],
    'current-context': 'test',
    preferences: {},
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
}

function runKubectl(
  binary: string,
  args: string[],
  opts: { input?: string; timeoutMs: number },
): Promise<KubectlResult> {
  return new Promise<KubectlResult>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const err = Buffer.concat(stderr).toString('utf8');
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: signal ? `${err}\n(kubectl killed by ${signal} after ${opts.timeoutMs}ms)` : err,
        code: code ?? 128,
      });
    });
    // kubectl may exit before reading stdin (e.g. on a flag error); that EPIPE is not our error.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * etcd plus a kube-apiserver with RBAC, client-cert admin auth and
 * ServiceAccount tokens, all on 127.0.0.1 with private temp dirs. There is no
 * controller-manager or scheduler: objects are stored and served, never acted on.
 */
export async function startKubeApiserver(options: KubeApiserverOptions = {}): Promise<KubeApiserverHandle> {
  const etcdBinary = findBinary('etcd');
  const apiserverBinary = findBinary('kube-apiserver');
  const kubectlBinary = findBinary('kubectl');
  const dir = makePeerDir('kube');
  const started: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order: the apiserver would log errors for a vanished etcd.
    for (const proc of [...started].reverse()) await proc.stop();
  };
  try {
    const pki = generatePki(dir);
    const [etcdClientPort, etcdPeerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const launchEtcd = (): Promise<ManagedProcess> =>
      startProcess({
        name: 'etcd',
        command: etcdBinary,
        args: [
          '--name=test',
          `--data-dir=${path.join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${etcdPeerUrl}`,
          `--initial-advertise-peer-urls=${etcdPeerUrl}`,
          `--initial-cluster=test=${etcdPeerUrl}`,
          // On a restart the data dir already holds the member; etcd ignores this then.
          '--initial-cluster-state=new',
          // Durability is worthless for a throwaway store, and fsync dominates
          // etcd latency on shared CI disks.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        // etcd reads every ETCD_* variable as a flag; one leaking in from the
        // environment (ETCD_VERSION, say) would change or stop this server.
        env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ETCD_'))),
        cwd: dir,
        logDir: dir,
        ready: {
          url: `${etcdUrl}/health`,
          isReady: (r) => r.status === 200 && r.body.includes('"health":"true"'),
        },
        startTimeoutMs: 30_000,
      });
    let etcd = await launchEtcd();
    started.push(etcd);
    const etcdPost = async (api: string, body: unknown): Promise<Record<string, unknown>> => {
      const r = await httpRequest(`${etcdUrl}/v3/${api}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (r.status !== 200) throw new Error(`etcd ${api} answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body) as Record<string, unknown>;
    };

    const url = `https://127.0.0.1:${securePort}`;
    const launchApiserver = (port: number, name: string): Promise<ManagedProcess> =>
      startProcess({
        name,
        command: apiserverBinary,
        args: [
          '--advertise-address=127.0.0.1',
          // The `kubernetes` Service's endpoints would point at the advertise
          // address, and recent versions refuse a loopback one for that.
          '--endpoint-reconciler-type=none',
          '--bind-address=127.0.0.1',
          `--secure-port=${port}`,
          `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
          `--tls-cert-file=${pki.serverCert}`,
          `--tls-private-key-file=${pki.serverKey}`,
          `--client-ca-file=${pki.caCert}`,
          `--etcd-servers=${etcdUrl}`,
          '--authorization-mode=RBAC',
          // Only a range to allocate ClusterIPs from; nothing routes to it.
          '--service-cluster-ip-range=10.0.0.0/24',
          `--service-account-issuer=${url}`,
          `--service-account-key-file=${pki.saPublicKey}`,
          `--service-account-signing-key-file=${pki.saPrivateKey}`,
          // Without a controller-manager no `default` ServiceAccount is ever
          // created, and this admission plugin would reject every pod for it.
          '--disable-admission-plugins=ServiceAccount',
          '--allow-privileged=true',
          '--profiling=false',
          ...(options.extraArgs ?? []),
        ],
        cwd: dir,
        logDir: dir,
        ready: {
          url: `https://127.0.0.1:${port}/readyz`,
          request: {
            ca: readFileSync(pki.caCert),
            cert: readFileSync(pki.adminCert),
            key: readFileSync(pki.adminKey),
          },
        },
        startTimeoutMs: options.startTimeoutMs ?? 120_000,
        stopTimeoutMs: 15_000,
        pollIntervalMs: 250,
      });
    let apiserver = await launchApiserver(securePort, 'kube-apiserver');
    started.push(apiserver);

    const caPem = readFileSync(pki.caCert, 'utf8');
    const caData = b64File(pki.caCert);
    const adminKubeconfigPath = path.join(dir, 'admin.kubeconfig');
    writeKubeconfig(adminKubeconfigPath, url, caData, {
      'client-certificate-data': b64File(pki.adminCert),
      'client-key-data': b64File(pki.adminKey),
    });
    // kubectl's discovery cache defaults to ~/.kube/cache; keep it per server.
    const kubectlCacheDir = path.join(dir, 'kubectl-cache');
    mkdirSync(kubectlCacheDir, { recursive: true });

    const kubectl = (args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
      runKubectl(
        kubectlBinary,
        [`--kubeconfig=${opts.kubeconfig ?? adminKubeconfigPath}`, `--cache-dir=${kubectlCacheDir}`, ...args],
        { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 },
      );
    const mustKubectl = async (args: string[], opts: KubectlOptions = {}): Promise<string> => {
      const result = await kubectl(args, opts);
      if (result.code !== 0) {
        throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
      }
      return result.stdout;
    };

    const serviceAccountToken = async (namespace: string, serviceAccount: string): Promise<string> => {
      const manifest = {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
        ],
      };
      await mustKubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
      const token = (
        await mustKubectl(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])
      ).trim();
      if (!token) throw new Error(`kubectl create token ${serviceAccount} -n ${namespace} printed no token`);
      return token;
    };

    const createServiceAccountKubeconfig = async (
      namespace: string,
      serviceAccount: string,
    ): Promise<string> => {
      const token = await serviceAccountToken(namespace, serviceAccount);
      const file = path.join(dir, `sa-${namespace}-${serviceAccount}.kubeconfig`);
      writeKubeconfig(file, url, caData, { token }, namespace);
      return file;
    };

    return {
      url,
      caFile: pki.caCert,
      caPem,
      caData,
      adminKubeconfigPath,
      adminClientCertFile: pki.adminCert,
      adminClientKeyFile: pki.adminKey,
      serverCertFile: pki.serverCert,
      serverKeyFile: pki.serverKey,
      etcdUrl,
      logFiles: { etcd: etcd.logFile, kubeApiserver: apiserver.logFile },
      kubectl,
      serviceAccountToken,
      createServiceAccountKubeconfig,
      stopApiserver: async () => {
        await apiserver.stop();
      },
      startApiserver: async () => {
        apiserver = await launchApiserver(securePort, 'kube-apiserver');
        started.push(apiserver);
      },
      stopEtcd: async () => {
        await etcd.stop();
      },
      startEtcd: async () => {
        etcd = await launchEtcd();
        started.unshift(etcd);
      },
      compactEtcd: async () => {
        // A range over one key answers with the store's current revision in its header.
        const range = await etcdPost('kv/range', { key: Buffer.from('/').toString('base64'), limit: 1 });
        const revision = Number((range.header as { revision?: string } | undefined)?.revision);
        if (!Number.isInteger(revision) || revision <= 0)
          throw new Error(`etcd revision: ${JSON.stringify(range)}`);
        await etcdPost('kv/compaction', { revision: String(revision), physical: true });
        return revision;
      },
      startSecondApiserver: async () => {
        const port = await freePort();
        const second = await launchApiserver(port, 'kube-apiserver-2');
        started.push(second);
        const kubeconfig = path.join(dir, `admin-${port}.kubeconfig`);
        writeKubeconfig(kubeconfig, `https://127.0.0.1:${port}`, caData, {
          'client-certificate-data': b64File(pki.adminCert),
          'client-key-data': b64File(pki.adminKey),
        });
        return {
          kubectl: (args: string[], opts: KubectlOptions = {}) => kubectl(args, { ...opts, kubeconfig }),
          stop: () => second.stop(),
        };
      },
      stop: async () => {
        await stopAll();
        removePeerDir(dir);
      },
    };
  } catch (error) {
    await stopAll();
    removePeerDir(dir);
    throw error;
  }
}
