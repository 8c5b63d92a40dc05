import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  inCluster,
  inClusterConfig,
  KubeconfigCredentials,
  KubeconfigError,
  kubeconfigFiles,
  loadKubeconfigFiles,
  NoClusterSelected,
  pluginOf,
} from '../../src/kube/kubeconfig.ts';
import { makeCa, makeCert, pem } from '../support/certs.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const ca = makeCa(dir, 'ca');
const client = makeCert(dir, ca, 'client', 'client');
const CA = pem(ca.cert);
const CA_DATA = Buffer.from(CA).toString('base64');

/** A kubeconfig with one context `x` of cluster `c` and user `u`. */
function single(name: string, cluster: string, user: string): string {
  return write(
    name,
    `current-context: x
clusters: [{name: c, cluster: ${cluster}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: ${user}}]
`,
  );
}

describe('kubeconfig', () => {
  it('KUBECONFIG: the files of the list that exist, in order, each once (client-go skips missing ones)', () => {
    const a = write('list-a.yaml', 'apiVersion: v1\nkind: Config\n');
    const b = write('list-b.yaml', 'apiVersion: v1\nkind: Config\n');
    const missing = path.join(dir, 'missing.yaml');
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: [a, missing, '', b, a].join(path.delimiter) }), [a, b]);
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: missing, HOME: dir }), []);
  });

  it('selects the current context; relative files are relative to the kubeconfig', () => {
    const file = write(
      'a.yaml',
      `apiVersion: v1
kind: Config
current-context: two
clusters:
  - name: c1
    cluster: {server: "HTTPS://one.example:6443/"}
  - name: c2
    cluster:
      server: https://two.example:6443
      certificate-authority: ca.crt
      tls-server-name: kubernetes
contexts:
  - {name: one, context: {cluster: c1, user: u1}}
  - {name: two, context: {cluster: c2, user: u2}}
users:
  - {name: u1, user: {token: t1}}
  - name: u2
    user: {client-certificate: client.crt, client-key: ${client.key}, as: alice}
`,
    );
    const selection = loadKubeconfigFiles([file]);
    assert.equal(selection.cluster.server, 'https://two.example:6443');
    assert.equal(selection.cluster.caFile, ca.cert);
    const credentials = new KubeconfigCredentials(selection);
    const tls = credentials.tls();
    assert.equal(tls.ca?.toString(), CA);
    assert.equal(tls.cert?.toString(), pem(client.cert));
    assert.equal(tls.key?.toString(), pem(client.key));
    assert.equal(tls.servername, 'kubernetes');
    assert.equal(tls.rejectUnauthorized, undefined);
    assert.deepEqual(credentials.headers(), { 'impersonate-user': 'alice' });

    const one = loadKubeconfigFiles([file], 'one');
    assert.equal(one.cluster.server, 'https://one.example:6443', 'trailing slash dropped, scheme lower case');
    assert.deepEqual(new KubeconfigCredentials(one).headers(), { authorization: 'Bearer t1' });
    assert.throws(
      () => loadKubeconfigFiles([file], 'three'),
      /--context three: no such context in .*a\.yaml/,
    );
  });

  it('merges files as client-go does: the first to define a name or the current context wins', () => {
    const first = write(
      'first.yaml',
      `current-context: x
clusters: [{name: c, cluster: {server: "https://first:1", insecure-skip-tls-verify: yes}}]
users: [{name: u, user: {username: bob, password: secret}}]
`,
    );
    const second = write(
      'second.yaml',
      `current-context: second
clusters: [{name: c, cluster: {server: "https://second:2", certificate-authority-data: ${CA_DATA}}}]
contexts: [{name: x, context: {cluster: c, user: u}}, {name: second, context: {cluster: c}}]
users: [{name: u, user: {token: ignored}}]
`,
    );
    const selection = loadKubeconfigFiles([first, second]);
    assert.equal(selection.context, 'x');
    assert.equal(selection.cluster.server, 'https://first:1');
    const credentials = new KubeconfigCredentials(selection);
    assert.equal(credentials.tls().rejectUnauthorized, false, 'YAML 1.1 "yes" is true, as in Go');
    assert.equal(credentials.tls().ca, undefined, 'a whole entry wins, fields are not merged');
    assert.deepEqual(credentials.headers(), {
      authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}`,
    });
    assert.deepEqual(new KubeconfigCredentials(loadKubeconfigFiles([first, second], 'second')).headers(), {});
  });

  it('a token file takes precedence over an inline token, as rest.Config BearerTokenFile does', () => {
    const token = write('precedence-token', 'from-file\n');
    const file = single('precedence.yaml', '{server: "https://h:1"}', `{token: inline, tokenFile: ${token}}`);
    const credentials = new KubeconfigCredentials(loadKubeconfigFiles([file]));
    assert.deepEqual(credentials.headers(1_000_000), { authorization: 'Bearer from-file' });
    unlinkSync(token);
    assert.deepEqual(
      credentials.headers(1_100_000),
      { authorization: 'Bearer from-file' },
      'an unreadable file keeps the last token read',
    );
    assert.deepEqual(
      new KubeconfigCredentials(loadKubeconfigFiles([file])).headers(),
      { authorization: 'Bearer inline' },
      'never read: the inline token',
    );
  });

  it('re-reads a token file once a minute (rotation), and trims it', () => {
    const token = write('token', 'one\n');
    const file = single('tf.yaml', '{server: "https://h:1"}', '{tokenFile: token}');
    const credentials = new KubeconfigCredentials(loadKubeconfigFiles([file]));
    assert.deepEqual(credentials.headers(1_000_000), { authorization: 'Bearer one' });
    writeFileSync(token, 'two');
    assert.deepEqual(
      credentials.headers(1_030_000),
      { authorization: 'Bearer one' },
      'cached within a minute',
    );
    assert.deepEqual(credentials.headers(1_061_000), { authorization: 'Bearer two' });
  });

  it('over plain http sends no credentials, only impersonation (client-go: IsConfigTransportTLS)', () => {
    const token = write('http-token', 'from-file');
    for (const server of ['http://127.0.0.1:8080', '127.0.0.1:8080']) {
      const file = single(
        'http.yaml',
        `{server: "${server}"}`,
        `{tokenFile: ${token}, as: alice, as-groups: [g1, g2]}`,
      );
      const selection = loadKubeconfigFiles([file]);
      assert.equal(selection.cluster.server, 'http://127.0.0.1:8080', 'no scheme is plain http');
      assert.deepEqual(new KubeconfigCredentials(selection).headers(), {
        'impersonate-user': 'alice',
        'impersonate-group': ['g1', 'g2'],
      });
    }
  });

  it('impersonation: user, uid, groups and extras (keys escaped as client-go does)', () => {
    const file = single(
      'impersonate.yaml',
      '{server: "https://h:1"}',
      `{token: t, as: alice, as-uid: "42", as-groups: [a, b], as-user-extra: {"scopes/ü x": [one, two], empty: []}}`,
    );
    assert.deepEqual(new KubeconfigCredentials(loadKubeconfigFiles([file])).headers(), {
      authorization: 'Bearer t',
      'impersonate-user': 'alice',
      'impersonate-uid': '42',
      'impersonate-group': ['a', 'b'],
      'impersonate-extra-scopes%2F%C3%BC%20x': ['one', 'two'],
    });
  });

  it('hands exec and auth-provider users to a plugin only where client-go would run it', () => {
    const file = write(
      'exec.yaml',
      `current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}, {name: plain, cluster: {server: "http://h:1"}}]
contexts:
  - {name: x, context: {cluster: c, user: u}}
  - {name: z, context: {cluster: c, user: p}}
  - {name: t, context: {cluster: c, user: with-token}}
  - {name: h, context: {cluster: plain, user: u}}
users:
  - {name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/get-token, interactiveMode: Never}}}
  - {name: p, user: {auth-provider: {name: oidc}}}
  - {name: with-token, user: {token: t, exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: get-token}}}
`,
    );
    const exec = loadKubeconfigFiles([file]);
    assert.equal(pluginOf(exec), 'exec');
    assert.equal(exec.user.exec?.command, path.join(dir, 'bin', 'get-token'), 'a relative path, resolved');
    assert.equal(pluginOf(loadKubeconfigFiles([file], 'z')), 'auth-provider');
    assert.equal(pluginOf(loadKubeconfigFiles([file], 't')), undefined, 'a token wins over exec');
    assert.equal(pluginOf(loadKubeconfigFiles([file], 'h')), undefined, 'no credentials over http');
  });

  it('refuses, in one line, what kubectl refuses', () => {
    const missing = path.join(dir, 'nope.crt');
    const emptyToken = write('empty-token', '\n');
    const https = '{server: "https://h:1"}';
    const cases: [string, string, RegExp][] = [
      [https, '{token: t, username: u, password: p}', /user "u": token and username\/password are both set/],
      [
        https,
        `{tokenFile: ${emptyToken}, username: u}`,
        /username\/password and a bearer token are both set/,
      ],
      [https, `{tokenFile: ${emptyToken}}`, /tokenFile .*empty-token is empty/],
      [https, `{tokenFile: ${missing}}`, /tokenFile .*nope\.crt: ENOENT/],
      [https, `{client-certificate: ${client.cert}}`, /client-certificate without client-key/],
      [
        https,
        `{client-certificate: ${client.cert}, client-certificate-data: ${CA_DATA}, client-key: ${client.key}}`,
        /client-certificate and client-certificate-data are both set/,
      ],
      [
        https,
        `{client-certificate: ${missing}, client-key: ${client.key}}`,
        /client-certificate .*nope\.crt/,
      ],
      [https, `{client-certificate: ${client.cert}, client-key: ${ca.key}}`, /client certificate and key: /],
      [https, '{as-groups: [g]}', /as-uid, as-groups or as-user-extra without as/],
      [
        https,
        '{exec: {command: x, apiVersion: client.authentication.k8s.io/v1}}',
        /interactiveMode is missing/,
      ],
      [https, '{exec: {command: x}, auth-provider: {name: oidc}}', /exec and auth-provider are both set/],
      [
        `{server: "https://h:1", certificate-authority: ${ca.cert}, certificate-authority-data: ${CA_DATA}}`,
        '{}',
        /certificate-authority and certificate-authority-data are both set/,
      ],
      [
        `{server: "https://h:1", certificate-authority: ${missing}}`,
        '{}',
        /certificate-authority .*nope\.crt/,
      ],
      [
        `{server: "https://h:1", certificate-authority: ${ca.cert}, insecure-skip-tls-verify: true}`,
        '{}',
        /insecure-skip-tls-verify with a certificate-authority/,
      ],
      [
        `{server: "https://h:1", certificate-authority-data: ${Buffer.from('not PEM').toString('base64')}}`,
        '{}',
        /certificate-authority holds no PEM certificate/,
      ],
      [
        '{server: "https://h:1", certificate-authority-data: "%%%"}',
        '{}',
        /certificate-authority-data: not valid base64/,
      ],
      ['{server: "https://h:1", proxy-url: "ftp://p:1"}', '{}', /proxy-url ftp:\/\/p:1: unsupported scheme/],
      [
        '{server: "https://h:1", proxy-url: "socks5://p:1"}',
        '{}',
        /only http:\/\/ proxies are supported \(not socks5\)/,
      ],
      [
        '{server: "https://h:1", proxy-url: "https://p:1"}',
        '{}',
        /only http:\/\/ proxies are supported \(not https\)/,
      ],
      ['{server: "ftp://h:1"}', '{}', /server ftp:\/\/h:1: not an http or https URL/],
      ['{server: 6443}', '{}', /clusters\[0\]\.cluster\.server: expected a string/],
    ];
    for (const [cluster, user, message] of cases) {
      const file = single('refused.yaml', cluster, user);
      assert.throws(
        () => loadKubeconfigFiles([file]),
        (err: Error) =>
          err instanceof KubeconfigError && message.test(err.message) && !err.message.includes('\n'),
        `${cluster} ${user}`,
      );
    }
  });

  it('an unselected entry may be broken (kubectl checks only what the context uses)', () => {
    const file = write(
      'unselected.yaml',
      `current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}, {name: broken, cluster: {}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}, {name: bad, user: {token: t, username: u}}]
`,
    );
    assert.equal(loadKubeconfigFiles([file]).cluster.server, 'https://h:1');
  });

  it('says what is wrong with a broken kubeconfig', () => {
    const cases: [string, RegExp][] = [
      [
        'clusters: [{name: c, cluster: {server: "https://h"}}, {name: c, cluster: {server: "https://i"}}]',
        /cluster "c" is defined twice/,
      ],
      ['clusters: {c: {server: "https://h"}}', /clusters: expected a list/],
      ['users: [{name: u, user: {as-groups: g}}]', /users\[0\]\.user\.as-groups: expected a list of strings/],
      ['- just a list', /not a kubeconfig/],
      ['current-context: x\nclusters: [', /not valid YAML/],
      ['current-context: x', /current-context x: no such context/],
    ];
    for (const [text, message] of cases) {
      const file = write('broken.yaml', text);
      assert.throws(() => loadKubeconfigFiles([file]), message, text);
    }
    assert.throws(() => loadKubeconfigFiles([path.join(dir, 'broken.yaml')]), KubeconfigError);
  });

  it('selects no cluster (client-go then tries in-cluster) without a context or a server', () => {
    const cases: [string, RegExp][] = [
      ['clusters: [{name: c, cluster: {server: "https://h"}}]', /no current-context/],
      ['current-context: x\ncontexts: [{name: x, context: {cluster: c}}]', /names cluster "c", not defined/],
      [
        'current-context: x\nclusters: [{name: c}]\ncontexts: [{name: x, context: {cluster: c}}]',
        /cluster "c" .* has no server/,
      ],
      ['', /no current-context/],
    ];
    for (const [text, message] of cases) {
      const file = write('unselected.yaml', text);
      assert.throws(
        () => loadKubeconfigFiles([file]),
        (err: Error) => err instanceof NoClusterSelected && message.test(err.message),
        text,
      );
    }
  });
});

/**
 * kubectl cannot be pointed at another service-account directory than client-go's, so these hold
 * the reader to rest.InClusterConfig's documented rules (the kubectl differential test also runs
 * both in a private mount namespace where that directory is ours).
 */
describe('in-cluster config, as client-go InClusterConfig', () => {
  const sa = path.join(dir, 'serviceaccount');
  mkdirSync(sa);
  writeFileSync(path.join(sa, 'token'), 'sa-token\n');
  writeFileSync(path.join(sa, 'ca.crt'), CA);

  it('always https, whatever the port: the token never goes out in clear text', () => {
    for (const port of ['443', '6443', '80', '8080', '8001']) {
      const selection = inClusterConfig(
        { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: port },
        sa,
      );
      assert.equal(selection.cluster.server, `https://10.0.0.1:${port}`);
      assert.deepEqual(new KubeconfigCredentials(selection).headers(), { authorization: 'Bearer sa-token' });
    }
  });

  it('IPv6 host bracketed; token and CA from the service account directory', () => {
    const selection = inClusterConfig(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(selection.cluster.server, 'https://[fd00::1]:443');
    assert.equal(new KubeconfigCredentials(selection).tls().ca?.toString(), CA);
  });

  it('possible only with host, port and a token file', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    assert.equal(inCluster(env, sa), true);
    assert.equal(inCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, sa), false, 'no port');
    assert.equal(inCluster({ KUBERNETES_SERVICE_PORT: '443' }, sa), false, 'no host');
    assert.equal(inCluster(env, path.join(dir, 'nowhere')), false, 'no token');
    mkdirSync(path.join(dir, 'dir-token', 'token'), { recursive: true });
    assert.equal(inCluster(env, path.join(dir, 'dir-token')), false, 'token is a directory');
  });

  it('without a readable CA, the system roots (client-go logs and goes on); an empty token is refused', () => {
    const bare = path.join(dir, 'bare-sa');
    mkdirSync(bare);
    writeFileSync(path.join(bare, 'token'), 't');
    const env = { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' };
    assert.equal(inClusterConfig(env, bare).cluster.caFile, undefined);
    writeFileSync(path.join(bare, 'ca.crt'), 'not PEM');
    assert.equal(inClusterConfig(env, bare).cluster.caFile, undefined);
    writeFileSync(path.join(bare, 'token'), ' \n');
    assert.throws(() => inClusterConfig(env, bare), /token is empty/);
  });
});
