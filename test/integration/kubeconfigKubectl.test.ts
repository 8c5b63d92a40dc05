import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { findBinary, repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import type { KubeApiserverHandle } from '../harness/kubeApiserver.ts';
import { makeCa, makeCert, pem } from '../support/certs.ts';
import { startCredentialRecorder } from '../support/recordingProxy.ts';
import type { CredentialRecorder, RecordedCall } from '../support/recordingProxy.ts';

/**
 * Our kubeconfig reader held to kubectl's: for each fixture, kubectl (`get --raw /api`) and our
 * KubeClient (test/support/kubeGetRaw.ts, the same request) run with the same files, flags and
 * environment, and must bring the same credentials to the same place: which server, TLS or not,
 * SNI name, client certificate, Authorization, impersonation and proxy headers, as recorded by
 * servers standing in front of a real kube-apiserver or for one; and end the same way (answered,
 * failed after sending, or refused before sending anything). Where we refuse on purpose what
 * kubectl does not (it falls back to http://localhost:8080, here KUBERNETES_MASTER), the fixture
 * says so and both sides are checked for exactly that.
 */

type Outcome = 'ok' | 'failed' | 'refused';

interface Run {
  readonly outcome: Outcome;
  readonly message: string;
  readonly calls: readonly string[];
}

interface InClusterSetup {
  /** KUBERNETES_SERVICE_PORT; undefined leaves it unset. */
  readonly port: number | undefined;
  readonly ca: boolean;
}

interface Fixture {
  readonly name: string;
  /** Kubeconfig files to write in the fixture's directory: objects (as JSON) or YAML text. */
  readonly files?: Readonly<Record<string, unknown>>;
  /** --kubeconfig (a name in the fixture's directory). */
  readonly kubeconfig?: string;
  /** KUBECONFIG, names in the fixture's directory (missing ones allowed). */
  readonly kubeconfigEnv?: readonly string[];
  /** Copied to $HOME/.kube/config. */
  readonly home?: string;
  readonly context?: string;
  /** Run both in a mount namespace where /var/run/secrets/kubernetes.io/serviceaccount is ours. */
  readonly inCluster?: InClusterSetup;
  /** What kubectl does, so a fixture cannot pass by both sides failing the same wrong way. */
  readonly kubectl: Outcome;
  /** The servers kubectl's calls reach (recorder names), for fixtures that send. */
  readonly reaches?: readonly string[];
  /**
   * We refuse on purpose where kubectl goes ahead: it falls back to its default server
   * (KUBERNETES_MASTER here, http://localhost:8080 otherwise), or uses what Node cannot do.
   */
  readonly weRefuse?: RegExp;
}

const work = mkdtempSync(path.join(tmpdir(), 'kubeconfig-kubectl-'));
const calls: RecordedCall[] = [];

describe('kubeconfig: our reader against kubectl on the same files', { timeout: 900_000 }, () => {
  let api: KubeApiserverHandle;
  let kubectlBinary: string;
  const recorders: Record<string, CredentialRecorder> = {};
  let token = '';
  let admin: { cert: string; key: string; certData: string; keyData: string };
  let apiCaData = '';
  let otherCa: { cert: string; data: string };
  let namespacesWork = false;
  let plainPortInCluster: number | undefined;

  before(async () => {
    kubectlBinary = findBinary('kubectl');
    api = await startKubeApiserver();
    token = await api.serviceAccountToken('kubeconfig-diff', 'reader');
    apiCaData = api.caData;
    admin = {
      cert: api.adminClientCertFile,
      key: api.adminClientKeyFile,
      certData: Buffer.from(pem(api.adminClientCertFile)).toString('base64'),
      keyData: Buffer.from(pem(api.adminClientKeyFile)).toString('base64'),
    };
    const certs = path.join(work, 'certs');
    mkdirSync(certs);
    const other = makeCa(certs, 'other-ca');
    otherCa = { cert: other.cert, data: Buffer.from(pem(other.cert)).toString('base64') };
    const otherServing = makeCert(certs, other, 'other');
    const named = makeCert(certs, other, 'named', 'server', { subjectAltName: 'DNS:kubernetes.internal' });
    const upstream = {
      url: api.url,
      ca: api.caPem,
      identities: [{ cert: pem(api.adminClientCertFile), key: pem(api.adminClientKeyFile) }],
    };
    const apiTls = { cert: pem(api.serverCertFile), key: pem(api.serverKeyFile) };
    recorders.apiserver = await startCredentialRecorder({ name: 'apiserver', calls, tls: apiTls, upstream });
    recorders.other = await startCredentialRecorder({
      name: 'other',
      calls,
      tls: { cert: pem(otherServing.cert), key: pem(otherServing.key) },
    });
    recorders.named = await startCredentialRecorder({
      name: 'named',
      calls,
      tls: { cert: pem(named.cert), key: pem(named.key) },
    });
    recorders.plain = await startCredentialRecorder({ name: 'plain', calls });
    recorders.proxy = await startCredentialRecorder({ name: 'proxy', calls });
    recorders.tlsProxy = await startCredentialRecorder({ name: 'tls-proxy', calls, tls: apiTls });
    recorders.default = await startCredentialRecorder({ name: 'default', calls });
    // In-cluster on a port client-node and our old reader took for plain http: the service
    // answers TLS there, as a real one would.
    for (const port of [8080, 8001]) {
      try {
        recorders.servicePlainPort = await startCredentialRecorder({
          name: 'apiserver',
          calls,
          tls: apiTls,
          upstream,
          port,
        });
        plainPortInCluster = port;
        break;
      } catch {
        // In use on this machine: try the next one.
      }
    }
    namespacesWork = canBindServiceAccountDir();
  });

  after(async () => {
    for (const recorder of Object.values(recorders)) await recorder.close();
    await api?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A kubeconfig object with one context `x`. */
  const config = (
    cluster: Record<string, unknown>,
    user: Record<string, unknown>,
  ): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'x',
    clusters: [{ name: 'c', cluster }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    users: [{ name: 'u', user }],
  });
  const apiCluster = (): Record<string, unknown> => ({
    server: recorders.apiserver!.url,
    'certificate-authority-data': apiCaData,
  });
  const execCredential = (value: string): Record<string, unknown> => ({
    apiVersion: 'client.authentication.k8s.io/v1',
    command: process.execPath,
    args: [
      '-e',
      `process.stdout.write(${JSON.stringify(
        JSON.stringify({
          apiVersion: 'client.authentication.k8s.io/v1',
          kind: 'ExecCredential',
          status: { token: value },
        }),
      )})`,
    ],
    interactiveMode: 'Never',
  });

  // Built lazily: they need the servers and credentials made in before().
  const fixtures = (): Fixture[] => [
    {
      name: 'inline token, CA data',
      files: { k: config(apiCluster(), { token }) },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'token file only (trimmed)',
      files: { k: config(apiCluster(), { tokenFile: 'token' }), token: `${token}\n` },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'token file wins over an inline token',
      files: { k: config(apiCluster(), { token: 'stale-inline-token', tokenFile: 'token' }), token },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'inline token when the token file is missing',
      files: { k: config(apiCluster(), { token, tokenFile: 'missing-token' }) },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'client certificate and key files, CA file, relative to the kubeconfig',
      files: {
        k: config(
          { server: recorders.apiserver!.url, 'certificate-authority': 'ca.crt' },
          { 'client-certificate': 'admin.crt', 'client-key': 'keys/admin.key' },
        ),
        'ca.crt': api.caPem,
        'admin.crt': pem(admin.cert),
        'keys/admin.key': pem(admin.key),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'client certificate data, impersonation of a user, uid, groups and extras',
      files: {
        k: config(apiCluster(), {
          'client-certificate-data': admin.certData,
          'client-key-data': admin.keyData,
          as: 'alice',
          'as-uid': 'alice-uid',
          'as-groups': ['team-a', 'team-b'],
          'as-user-extra': { 'example.com/scopes': ['read', 'write'] },
        }),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'basic auth (which the API server does not take: 403)',
      files: { k: config(apiCluster(), { username: 'bob', password: 's3cret' }) },
      kubeconfig: 'k',
      kubectl: 'failed',
      reaches: ['apiserver'],
    },
    {
      name: 'tls-server-name: verified against that name, and sent as SNI',
      files: {
        k: config(
          {
            server: recorders.named!.url,
            'certificate-authority-data': otherCa.data,
            'tls-server-name': 'kubernetes.internal',
          },
          { token: 'named-token' },
        ),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['named'],
    },
    {
      name: 'without tls-server-name the same server is not trusted',
      files: {
        k: config(
          { server: recorders.named!.url, 'certificate-authority-data': otherCa.data },
          { token: 't' },
        ),
      },
      kubeconfig: 'k',
      kubectl: 'failed',
      reaches: ['named'],
    },
    {
      name: 'insecure-skip-tls-verify (YAML 1.1 yes) trusts an unknown CA',
      files: {
        k: `current-context: x
clusters: [{name: c, cluster: {server: "${recorders.other!.url}", insecure-skip-tls-verify: yes}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: insecure-token}}]
`,
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['other'],
    },
    {
      name: 'a CA that did not sign the server: no request is sent',
      files: {
        k: config({ server: recorders.other!.url, 'certificate-authority-data': apiCaData }, { token: 't' }),
      },
      kubeconfig: 'k',
      kubectl: 'failed',
      reaches: ['other'],
    },
    {
      name: 'a server URL with a path prefix',
      files: {
        k: config(
          { server: `${recorders.other!.url}/clusters/c-1/`, 'certificate-authority-data': otherCa.data },
          { token: 'prefix-token' },
        ),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['other'],
    },
    {
      name: 'a scheme in capitals',
      files: {
        k: config({ ...apiCluster(), server: recorders.apiserver!.url.replace('https', 'HTTPS') }, { token }),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'YAML 1.1: an unquoted y is a boolean, not a name',
      files: {
        k: `current-context: "y"
clusters: [{name: c, cluster: {server: "${recorders.other!.url}", insecure-skip-tls-verify: true}}]
contexts: [{name: y, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
`,
      },
      kubeconfig: 'k',
      kubectl: 'refused',
    },
    {
      name: 'plain http: no credentials, impersonation still sent',
      files: {
        k: config({ server: recorders.plain!.url }, { token: 'never-sent', as: 'alice', 'as-groups': ['g'] }),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['plain'],
    },
    {
      name: 'a server without a scheme is plain http',
      files: { k: config({ server: `127.0.0.1:${recorders.plain!.port}` }, { token: 'never-sent' }) },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['plain'],
    },
    {
      name: 'proxy-url: CONNECT with the proxy credentials, then the same TLS request',
      files: {
        k: config(
          { ...apiCluster(), 'proxy-url': `http://proxy-user:proxy-pass@127.0.0.1:${recorders.proxy!.port}` },
          { token },
        ),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver', 'proxy'],
    },
    {
      name: 'proxy-url over TLS (kubectl checks the proxy against the cluster CA; Node does not)',
      files: {
        k: config(
          {
            ...apiCluster(),
            'proxy-url': `https://proxy-user:proxy-pass@127.0.0.1:${recorders.tlsProxy!.port}`,
          },
          { token },
        ),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver', 'tls-proxy'],
      weRefuse: /proxy-url https:.*only http:\/\/ proxies are supported/,
    },
    {
      name: 'exec plugin',
      files: { k: config(apiCluster(), { exec: execCredential(token) }) },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'an inline token wins over an exec plugin (which is not run)',
      files: {
        k: config(apiCluster(), { token, exec: { ...execCredential('from-exec'), command: 'false' } }),
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'exec plugin from the first of several KUBECONFIG files, a missing one skipped',
      files: {
        a: {
          'current-context': 'x',
          clusters: [{ name: 'c', cluster: apiCluster() }],
          users: [{ name: 'u', user: { exec: execCredential(token), as: 'alice' } }],
        },
        b: {
          'current-context': 'y',
          clusters: [
            { name: 'c', cluster: { server: recorders.other!.url, 'insecure-skip-tls-verify': true } },
          ],
          contexts: [
            { name: 'x', context: { cluster: 'c', user: 'u' } },
            { name: 'y', context: { cluster: 'c', user: 'v' } },
          ],
          users: [
            { name: 'u', user: { exec: execCredential('second-file-exec') } },
            { name: 'v', user: { token: 'second-file-token' } },
          ],
        },
      },
      kubeconfigEnv: ['missing', 'a', 'b'],
      // The service account may not impersonate: a 403 to both, after the same headers.
      kubectl: 'failed',
      reaches: ['apiserver'],
    },
    {
      name: 'KUBECONFIG merge: first file wins per name and for current-context',
      files: {
        a: {
          'current-context': 'from-b',
          users: [{ name: 'u', user: { token } }],
        },
        b: {
          'current-context': 'ignored',
          clusters: [
            { name: 'c', cluster: apiCluster() },
            { name: 'unused', cluster: {} },
          ],
          contexts: [{ name: 'from-b', context: { cluster: 'c', user: 'u' } }],
          users: [{ name: 'u', user: { token: 'loses-to-first-file' } }],
        },
      },
      kubeconfigEnv: ['a', 'missing', 'b'],
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: '--context picks another context of the merged files',
      files: {
        a: config(apiCluster(), { token }),
        b: {
          clusters: [
            { name: 'o', cluster: { server: recorders.other!.url, 'insecure-skip-tls-verify': true } },
          ],
          contexts: [{ name: 'second', context: { cluster: 'o', user: 'w' } }],
          users: [{ name: 'w', user: { token: 'second-context-token', as: 'carol' } }],
        },
      },
      kubeconfigEnv: ['a', 'b'],
      context: 'second',
      kubectl: 'ok',
      reaches: ['other'],
    },
    {
      name: '--kubeconfig wins over KUBECONFIG',
      files: { k: config(apiCluster(), { token }), e: config({ server: recorders.plain!.url }, {}) },
      kubeconfig: 'k',
      kubeconfigEnv: ['e'],
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: '~/.kube/config when KUBECONFIG is unset',
      files: { k: config(apiCluster(), { token }) },
      home: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'an unselected cluster and user may be broken',
      files: {
        k: {
          'current-context': 'x',
          clusters: [
            { name: 'c', cluster: apiCluster() },
            { name: 'broken', cluster: { 'certificate-authority': 'missing.crt' } },
          ],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          users: [
            { name: 'u', user: { token } },
            { name: 'bad', user: { token: 't', username: 'u', password: 'p' } },
          ],
        },
      },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    // Refused by kubectl before sending anything, so by us too (one line).
    ...(
      [
        ['token and basic auth', config(apiCluster(), { token, username: 'u', password: 'p' })],
        [
          'token file and basic auth',
          config(apiCluster(), { tokenFile: 'token', username: 'u', password: 'p' }),
        ],
        ['an empty token file', config(apiCluster(), { tokenFile: 'empty-token' })],
        ['a missing token file, no inline token', config(apiCluster(), { tokenFile: 'missing-token' })],
        [
          'a client certificate without a key',
          config(apiCluster(), { 'client-certificate-data': admin.certData }),
        ],
        [
          'a client certificate with the wrong key',
          config(apiCluster(), {
            'client-certificate-data': admin.certData,
            'client-key-data': apiKeyData(),
          }),
        ],
        [
          'client-certificate and client-certificate-data',
          config(apiCluster(), {
            'client-certificate': admin.cert,
            'client-certificate-data': admin.certData,
            'client-key-data': admin.keyData,
          }),
        ],
        [
          'a missing client certificate file',
          config(apiCluster(), { 'client-certificate': 'no.crt', 'client-key': admin.key }),
        ],
        [
          'certificate-authority and certificate-authority-data',
          config({ ...apiCluster(), 'certificate-authority': api.caFile }, { token }),
        ],
        [
          'a missing CA file',
          config({ server: recorders.apiserver!.url, 'certificate-authority': 'no-ca.crt' }, { token }),
        ],
        [
          'a CA that is not PEM',
          config(
            {
              server: recorders.apiserver!.url,
              'certificate-authority-data': Buffer.from('x').toString('base64'),
            },
            { token },
          ),
        ],
        [
          'CA data that is not base64',
          config({ server: recorders.apiserver!.url, 'certificate-authority-data': '%%%' }, { token }),
        ],
        [
          'insecure-skip-tls-verify with a CA',
          config({ ...apiCluster(), 'insecure-skip-tls-verify': true }, { token }),
        ],
        ['as-groups without as', config(apiCluster(), { token, 'as-groups': ['g'] })],
        [
          'exec v1 without interactiveMode',
          config(apiCluster(), { exec: { ...execCredential(token), interactiveMode: undefined } }),
        ],
        [
          'a proxy-url with an unknown scheme',
          config({ ...apiCluster(), 'proxy-url': 'ftp://127.0.0.1:1' }, { token }),
        ],
        [
          'a cluster name twice in one file',
          {
            ...config(apiCluster(), { token }),
            clusters: [
              { name: 'c', cluster: apiCluster() },
              { name: 'c', cluster: apiCluster() },
            ],
          },
        ],
        [
          'current-context naming no context',
          { ...config(apiCluster(), { token }), 'current-context': 'nope' },
        ],
        ['a server that is not a string', config({ server: 6443 }, {})],
      ] as const
    ).map(([name, file]): Fixture => ({
      name: `refused: ${name}`,
      files: { k: file, token, 'empty-token': '\n' },
      kubeconfig: 'k',
      kubectl: 'refused',
    })),
    {
      name: 'refused: --context that no file defines',
      files: { k: config(apiCluster(), { token }) },
      kubeconfig: 'k',
      context: 'nope',
      kubectl: 'refused',
    },
    {
      name: 'refused: --kubeconfig naming a missing file',
      kubeconfig: 'missing',
      kubectl: 'refused',
    },
    {
      name: 'no file of KUBECONFIG exists',
      kubeconfigEnv: ['missing-1', 'missing-2'],
      kubectl: 'ok',
      reaches: ['default'],
      weRefuse:
        /^no Kubernetes credentials: no file of KUBECONFIG \(.*missing-1:.*missing-2\) exists, and not in a cluster/,
    },
    {
      name: 'the context names a cluster without a server',
      files: { k: config({ 'certificate-authority-data': apiCaData }, { token }) },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['default'],
      weRefuse:
        /^no Kubernetes credentials: cluster "c" \(.*\) has no server \(--kubeconfig\), and not in a cluster/,
    },
    {
      name: 'the context names a cluster that no file defines',
      files: { k: { ...config(apiCluster(), { token }), clusters: [] } },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['default'],
      weRefuse:
        /^no Kubernetes credentials: context x names cluster "c", not defined in .* \(--kubeconfig\), and not in a cluster/,
    },
    {
      name: 'no current-context',
      files: { k: { ...config(apiCluster(), { token }), 'current-context': undefined } },
      kubeconfig: 'k',
      kubectl: 'ok',
      reaches: ['default'],
      weRefuse: /^no Kubernetes credentials: no current-context in .* \(--kubeconfig\), and not in a cluster/,
    },
  ];

  const inClusterFixtures = (): Fixture[] => [
    {
      name: 'in a cluster: service host and port, token and CA from the service account',
      inCluster: { port: recorders.apiserver!.port, ca: true },
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    ...(plainPortInCluster === undefined
      ? []
      : [
          {
            name: `in a cluster on port ${plainPortInCluster}: https all the same`,
            inCluster: { port: plainPortInCluster, ca: true },
            kubectl: 'ok',
            reaches: ['apiserver'],
          } satisfies Fixture,
        ]),
    {
      name: 'in a cluster without ca.crt: the system roots, which do not know this CA',
      inCluster: { port: recorders.apiserver!.port, ca: false },
      kubectl: 'failed',
      reaches: ['apiserver'],
    },
    {
      name: 'in a cluster, KUBECONFIG selecting no cluster: the service account',
      files: { empty: '' },
      kubeconfigEnv: ['empty'],
      inCluster: { port: recorders.apiserver!.port, ca: true },
      kubectl: 'ok',
      reaches: ['apiserver'],
    },
    {
      name: 'in a cluster with a kubeconfig: the kubeconfig',
      files: {
        k: config(
          { server: recorders.other!.url, 'insecure-skip-tls-verify': true },
          { token: 'kubeconfig-token' },
        ),
      },
      kubeconfig: 'k',
      inCluster: { port: recorders.apiserver!.port, ca: true },
      kubectl: 'ok',
      reaches: ['other'],
    },
    {
      name: 'refused: in a cluster, --context with no kubeconfig',
      context: 'x',
      inCluster: { port: recorders.apiserver!.port, ca: true },
      kubectl: 'refused',
    },
    {
      name: 'KUBERNETES_SERVICE_PORT unset: not in a cluster',
      inCluster: { port: undefined, ca: true },
      kubectl: 'ok',
      reaches: ['default'],
      weRefuse:
        /^no Kubernetes credentials: KUBECONFIG is not set, .* does not exist, and not in a cluster \(KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset/,
    },
  ];

  /** An unrelated key (the API server's serving key) as kubeconfig data. */
  function apiKeyData(): string {
    return Buffer.from(pem(api.serverKeyFile)).toString('base64');
  }

  let serial = 0;
  async function compare(t: TestContext, fixture: Fixture): Promise<void> {
    const dir = path.join(work, `f${++serial}`);
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.kube'), { recursive: true });
    for (const [name, content] of Object.entries(fixture.files ?? {})) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    }
    if (fixture.home !== undefined)
      copyFileSync(path.join(dir, fixture.home), path.join(home, '.kube', 'config'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      // Where kubectl goes when nothing is selected (client-go's default is http://localhost:8080).
      KUBERNETES_MASTER: recorders.default!.url,
    };
    if (fixture.kubeconfigEnv)
      env.KUBECONFIG = fixture.kubeconfigEnv.map((f) => path.join(dir, f)).join(path.delimiter);
    const flags = [
      ...(fixture.kubeconfig !== undefined ? [`--kubeconfig=${path.join(dir, fixture.kubeconfig)}`] : []),
      ...(fixture.context !== undefined ? [`--context=${fixture.context}`] : []),
    ];
    let wrap: string[] = [];
    if (fixture.inCluster) {
      const runDir = path.join(dir, 'run');
      const sa = path.join(runDir, 'secrets', 'kubernetes.io', 'serviceaccount');
      mkdirSync(sa, { recursive: true });
      writeFileSync(path.join(sa, 'token'), `${token}\n`);
      if (fixture.inCluster.ca) writeFileSync(path.join(sa, 'ca.crt'), api.caPem);
      writeFileSync(path.join(sa, 'namespace'), 'kubeconfig-diff');
      env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      if (fixture.inCluster.port !== undefined) env.KUBERNETES_SERVICE_PORT = String(fixture.inCluster.port);
      wrap = serviceAccountNamespace(runDir);
    }

    const kubectl = await runAndRecord(
      [...wrap, kubectlBinary, 'get', '--raw', '/api', `--cache-dir=${path.join(dir, 'cache')}`, ...flags],
      env,
      (code, _stdout, stderr, seen) => ({
        outcome: code === 0 ? 'ok' : seen.length === 0 ? 'refused' : 'failed',
        message: stderr.trim().split('\n').at(-1) ?? '',
      }),
    );
    const ours = await runAndRecord(
      [...wrap, process.execPath, path.join(repoRoot, 'test', 'support', 'kubeGetRaw.ts'), '/api', ...flags],
      env,
      (code, stdout, stderr) => {
        try {
          const result = JSON.parse(stdout) as { outcome: Outcome; message?: string };
          return { outcome: result.outcome, message: result.message ?? '' };
        } catch {
          return { outcome: 'failed', message: `exit ${code}: ${stderr.trim()}` };
        }
      },
    );

    const show = (r: Run): string =>
      (r.calls.join(' ') || r.message).replaceAll(token, '<service account token>');
    t.diagnostic(`kubectl ${kubectl.outcome}: ${show(kubectl)}`);
    t.diagnostic(`ours ${ours.outcome}: ${show(ours)}`);
    const context = `\nkubectl: ${JSON.stringify(kubectl, null, 1)}\nours: ${JSON.stringify(ours, null, 1)}`;
    assert.equal(
      kubectl.outcome,
      fixture.kubectl,
      `kubectl itself did not do what the fixture expects${context}`,
    );
    if (fixture.reaches)
      assert.deepEqual(
        [...new Set(kubectl.calls.map((c) => (JSON.parse(c) as RecordedCall).server))].sort(),
        [...fixture.reaches].sort(),
        `kubectl's calls reached other servers${context}`,
      );
    if (fixture.weRefuse) {
      assert.equal(ours.outcome, 'refused', `we should refuse${context}`);
      assert.match(ours.message, fixture.weRefuse, context);
      assert.deepEqual(ours.calls, [], context);
    } else {
      assert.deepEqual(ours.calls, kubectl.calls, `different credentials or places${context}`);
      assert.equal(ours.outcome, kubectl.outcome, `different ends${context}`);
    }
    if (ours.outcome === 'refused') assert.match(ours.message, /^[^\n]+$/, `a refusal is one line${context}`);
  }

  /** Runs a command and collects the calls the recorders saw meanwhile (normalized, unique). */
  async function runAndRecord(
    argv: string[],
    env: NodeJS.ProcessEnv,
    interpret: (
      code: number,
      stdout: string,
      stderr: string,
      seen: readonly string[],
    ) => { outcome: Outcome; message: string },
  ): Promise<Run> {
    calls.length = 0;
    const { code, stdout, stderr } = await run(argv, env);
    // A handshake the client gave up on is reported to the server a moment after the client exits.
    let count = -1;
    while (count !== calls.length) {
      count = calls.length;
      await delay(150);
    }
    const seen = [...new Set(calls.map(canonical))].sort();
    return { ...interpret(code, stdout, stderr, seen), calls: seen };
  }

  it('the same credentials to the same place, for every kubeconfig fixture', async (t) => {
    for (const fixture of fixtures()) await t.test(fixture.name, (st) => compare(st, fixture));
  });

  it('in a cluster (kubectl and ours in a mount namespace where the service account dir is ours)', async (t) => {
    if (!namespacesWork) {
      t.skip(
        'unshare cannot bind a directory over /run here; test/kube/kubeconfig.test.ts holds the in-cluster rules',
      );
      return;
    }
    if (plainPortInCluster === undefined)
      t.diagnostic('ports 8080 and 8001 are both in use: that case is left out');
    for (const fixture of inClusterFixtures()) await t.test(fixture.name, (st) => compare(st, fixture));
  });
});

/** JSON with keys sorted at every level, so equal calls give equal text. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function run(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/**
 * The command prefix that runs a command in a private mount namespace with `runDir` over /run
 * (/var/run links there), so client-go's fixed service-account path is a directory of ours.
 */
function serviceAccountNamespace(runDir: string): string[] {
  return [
    'unshare',
    '--mount',
    '--map-root-user',
    '--',
    'sh',
    '-c',
    'mount --bind "$0" /run && exec "$@"',
    runDir,
  ];
}

function canBindServiceAccountDir(): boolean {
  const runDir = mkdtempSync(path.join(work, 'probe-'));
  const sa = path.join(runDir, 'secrets', 'kubernetes.io', 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(path.join(sa, 'token'), 'probe');
  const probe = spawnSync(
    serviceAccountNamespace(runDir)[0]!,
    [
      ...serviceAccountNamespace(runDir).slice(1),
      'cat',
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
    ],
    { encoding: 'utf8' },
  );
  return probe.status === 0 && probe.stdout === 'probe';
}
