import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  inClusterConfig,
  KubeconfigCredentials,
  KubeconfigError,
  kubeconfigFiles,
  loadKubeconfigFiles,
} from '../../src/kube/kubeconfig.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const CA = '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n';

describe('kubeconfig', () => {
  it('KUBECONFIG: the files of the list that exist, in order (client-go skips missing ones)', () => {
    const a = write('list-a.yaml', 'apiVersion: v1\nkind: Config\n');
    const b = write('list-b.yaml', 'apiVersion: v1\nkind: Config\n');
    const missing = path.join(dir, 'missing.yaml');
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: [a, missing, '', b].join(path.delimiter) }), [a, b]);
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: missing, HOME: dir }), []);
  });

  it('selects the current context; relative files are relative to the kubeconfig', () => {
    write('ca.crt', CA);
    write('client.crt', 'CERT');
    write('client.key', 'KEY');
    const file = write(
      'a.yaml',
      `apiVersion: v1
kind: Config
current-context: two
clusters:
  - name: c1
    cluster: {server: "https://one.example:6443/"}
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
    user: {client-certificate: client.crt, client-key: ${path.join(dir, 'client.key')}, as: alice}
`,
    );
    const selection = loadKubeconfigFiles([file]);
    assert.equal(selection.cluster.server, 'https://two.example:6443');
    assert.equal(selection.cluster.caFile, path.join(dir, 'ca.crt'));
    const credentials = new KubeconfigCredentials(selection);
    const tls = credentials.tls();
    assert.equal(tls.ca?.toString(), CA);
    assert.equal(tls.cert?.toString(), 'CERT');
    assert.equal(tls.key?.toString(), 'KEY');
    assert.equal(tls.servername, 'kubernetes');
    assert.equal(tls.rejectUnauthorized, undefined);
    assert.deepEqual(credentials.headers(), { 'impersonate-user': 'alice' });

    const one = loadKubeconfigFiles([file], 'one');
    assert.equal(one.cluster.server, 'https://one.example:6443', 'trailing slash dropped');
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
clusters: [{name: c, cluster: {server: "https://first:1", insecure-skip-tls-verify: true, certificate-authority-data: ${Buffer.from(CA).toString('base64')}}}]
users: [{name: u, user: {username: bob, password: secret}}]
`,
    );
    const second = write(
      'second.yaml',
      `current-context: y
clusters: [{name: c, cluster: {server: "https://second:2"}}]
contexts: [{name: x, context: {cluster: c, user: u}}, {name: y, context: {cluster: c}}]
users: [{name: u, user: {token: ignored}}]
`,
    );
    const selection = loadKubeconfigFiles([first, second]);
    assert.equal(selection.context, 'x');
    assert.equal(selection.cluster.server, 'https://first:1');
    const credentials = new KubeconfigCredentials(selection);
    assert.equal(credentials.tls().rejectUnauthorized, false);
    assert.equal(credentials.tls().ca?.toString(), CA);
    assert.deepEqual(credentials.headers(), {
      authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}`,
    });
    assert.deepEqual(new KubeconfigCredentials(loadKubeconfigFiles([first, second], 'y')).headers(), {});
  });

  it('re-reads a token file once a minute (rotation), and trims it', () => {
    const token = write('token', 'one\n');
    const file = write(
      'tf.yaml',
      `current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {tokenFile: token}}]
`,
    );
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

  it('marks exec and auth-provider users as plugins (client-node runs them)', () => {
    const file = write(
      'exec.yaml',
      `current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}, {name: z, context: {cluster: c, user: p}}]
users:
  - {name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token}}}
  - {name: p, user: {auth-provider: {name: oidc}}}
`,
    );
    assert.equal(loadKubeconfigFiles([file]).user.plugin, true);
    assert.equal(loadKubeconfigFiles([file], 'z').user.plugin, true);
  });

  it('says what is wrong with a broken kubeconfig', () => {
    const cases: [string, RegExp][] = [
      ['clusters: [{name: c, cluster: {}}]', /clusters\[0\]\.cluster\.server is missing/],
      ['clusters: [{cluster: {server: "https://h"}}]', /clusters\[0\]\.name is missing/],
      ['contexts: [{name: x, context: {user: u}}]', /contexts\[0\]\.context\.cluster is missing/],
      ['users: [{user: {token: t}}]', /users\[0\]\.name is missing/],
      ['- just a list', /not a kubeconfig/],
      ['current-context: x', /no cluster for the current context/],
    ];
    for (const [text, message] of cases) {
      const file = write('broken.yaml', text);
      assert.throws(() => loadKubeconfigFiles([file]), message, text);
    }
    assert.throws(() => loadKubeconfigFiles([file('broken.yaml')]), KubeconfigError);
  });

  it('in a cluster: server from the environment (IPv6 bracketed), token and CA from the service account', () => {
    const sa = mkdtempSync(path.join(dir, 'sa-'));
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    writeFileSync(path.join(sa, 'ca.crt'), CA);
    const selection = inClusterConfig(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(selection.cluster.server, 'https://[fd00::1]:443');
    const credentials = new KubeconfigCredentials(selection);
    assert.deepEqual(credentials.headers(), { authorization: 'Bearer sa-token' });
    assert.equal(credentials.tls().ca?.toString(), CA);
  });
});

function file(name: string): string {
  return path.join(dir, name);
}
