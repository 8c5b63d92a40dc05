import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeClient, KubeCredentialsError } from '../../src/kube/KubeClient.ts';
import { makeCa, makeCert, pem } from '../support/certs.ts';

// An HTTPS endpoint that records request headers: the seam is the wire, not client-node.
let server: Server;
let plainServer: Server;
let url = '';
let plainUrl = '';
const seen: IncomingHttpHeaders[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'kubeclient-test-'));
const ca = makeCa(dir, 'ca');
const serving = makeCert(dir, ca, 'server');
const caData = Buffer.from(pem(ca.cert)).toString('base64');

before(async () => {
  const handler: RequestListener<typeof IncomingMessage> = (req, res) => {
    seen.push(req.headers);
    if (req.url === '/gzip' && req.headers['accept-encoding'] === 'gzip') {
      // Split across writes so UTF-8 characters straddle chunk boundaries after inflating.
      const body = gzipSync(
        JSON.stringify({ kind: 'List', items: Array.from({ length: 2000 }, (_, i) => `é-${i}-✓`) }),
      );
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      for (let i = 0; i < body.length; i += 7) res.write(body.subarray(i, i + 7));
      res.end();
      return;
    }
    if (req.url === '/missing') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"kind":"Status","reason":"NotFound","message":"backups.x not found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status"}');
  };
  server = createServer({ cert: pem(serving.cert), key: pem(serving.key) }, handler);
  plainServer = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => plainServer.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plainUrl = `http://127.0.0.1:${(plainServer.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  plainServer.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, user: Record<string, unknown>, server = url): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': caData } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

async function headersFor(
  file: string | undefined,
  env: NodeJS.ProcessEnv = {},
  serviceAccountDir?: string,
): Promise<IncomingHttpHeaders> {
  const client = new KubeClient(
    {
      ...(file === undefined ? {} : { kubeconfig: file }),
      ...(serviceAccountDir ? { serviceAccountDir } : {}),
    },
    env,
  );
  try {
    await (await client.get('/api', {}, AbortSignal.timeout(30_000))).text();
  } finally {
    await client.close();
  }
  return seen.at(-1)!;
}

/** An exec plugin (client.authentication.k8s.io/v1) that prints a credential with `token`. */
function execPlugin(token: string): Record<string, unknown> {
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token },
  });
  return {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: process.execPath,
    args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
    interactiveMode: 'Never',
  };
}

describe('KubeClient credentials on the wire', () => {
  it('sends a kubeconfig token, and asks for uncompressed responses', async () => {
    const headers = await headersFor(kubeconfig('token.json', { token: 't1' }));
    assert.equal(headers.authorization, 'Bearer t1');
    assert.equal(headers['accept-encoding'], 'identity');
  });

  it('sends no credentials over plain http, as kubectl, but impersonation', async () => {
    const headers = await headersFor(
      kubeconfig('plain.json', { token: 't1', as: 'alice', 'as-groups': ['g1', 'g2'] }, plainUrl),
    );
    assert.equal(headers.authorization, undefined);
    assert.equal(headers['impersonate-user'], 'alice');
    assert.equal(headers['impersonate-group'], 'g1, g2', 'one header line per group');
  });

  it('runs an exec credential plugin (through client-node)', async () => {
    const headers = await headersFor(kubeconfig('exec.json', { exec: execPlugin('from-exec') }));
    assert.equal(headers.authorization, 'Bearer from-exec');
  });

  it('an exec plugin sees the kubeconfig as merged here: KUBECONFIG order, missing files, the env given', async () => {
    const missing = path.join(dir, 'missing.json');
    const first = path.join(dir, 'merge-first.json');
    writeFileSync(
      first,
      JSON.stringify({
        'current-context': 'x',
        clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': caData } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        users: [{ name: 'u', user: { exec: execPlugin('first'), as: 'alice' } }],
      }),
    );
    const second = path.join(dir, 'merge-second.json');
    writeFileSync(
      second,
      JSON.stringify({
        'current-context': 'other',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        contexts: [{ name: 'other', context: { cluster: 'c', user: 'u' } }],
        users: [{ name: 'u', user: { exec: execPlugin('second') } }],
      }),
    );
    const headers = await headersFor(undefined, {
      KUBECONFIG: [missing, first, second].join(path.delimiter),
      HOME: dir,
    });
    assert.equal(headers.authorization, 'Bearer first', 'the first file wins, a missing one is skipped');
    assert.equal(headers['impersonate-user'], 'alice', 'impersonation applies to plugin users too');
  });

  it('in a cluster: https to the service host whatever the port, token and CA from the injected directory', async () => {
    const sa = path.join(dir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(path.join(sa, 'token'), 'sa-token\n');
    writeFileSync(path.join(sa, 'ca.crt'), pem(ca.cert));
    const port = new URL(url).port;
    const env = { HOME: dir, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port };
    const client = new KubeClient({ serviceAccountDir: sa }, env);
    assert.equal(client.server, `https://127.0.0.1:${port}`);
    await client.close();
    assert.equal((await headersFor(undefined, env, sa)).authorization, 'Bearer sa-token');
    for (const plainPort of ['80', '8080', '8001']) {
      const inCluster = new KubeClient(
        { serviceAccountDir: sa },
        { ...env, KUBERNETES_SERVICE_PORT: plainPort },
      );
      assert.equal(inCluster.server, `https://127.0.0.1:${plainPort}`);
      await inCluster.close();
    }
    const empty = path.join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    assert.equal(
      new KubeClient({ kubeconfig: empty, serviceAccountDir: sa }, env).server,
      `https://127.0.0.1:${port}`,
      'a kubeconfig that selects no cluster falls back to the service account, as client-go',
    );
    assert.throws(
      () => new KubeClient({ context: 'x', serviceAccountDir: sa }, env),
      /^KubeCredentialsError: --context x: no kubeconfig to take it from/,
    );
  });

  it('inflates gzip responses when compression is on, and decodes UTF-8 across chunks', async () => {
    const client = new KubeClient(
      { kubeconfig: kubeconfig('gzip.json', { token: 't' }), compression: true },
      {},
    );
    try {
      const body = (await (await client.get('/gzip', {}, AbortSignal.timeout(30_000))).json()) as {
        items: string[];
      };
      assert.equal(seen.at(-1)!['accept-encoding'], 'gzip');
      assert.equal(body.items.length, 2000);
      assert.equal(body.items[1999], 'é-1999-✓');
    } finally {
      await client.close();
    }
  });

  it('turns a non-2xx answer into a KubeApiError with the Status message and reason', async () => {
    const client = new KubeClient({ kubeconfig: kubeconfig('status.json', { token: 't' }) }, {});
    try {
      await assert.rejects(
        client.get('/missing', {}, AbortSignal.timeout(30_000)),
        (err: Error & { status?: number; reason?: string }) => {
          assert.equal(err.name, 'KubeApiError');
          assert.equal(err.status, 404);
          assert.equal(err.reason, 'NotFound');
          assert.equal(err.message, '404 backups.x not found');
          return true;
        },
      );
    } finally {
      await client.close();
    }
  });

  it('says in one line what is wrong with a kubeconfig', () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'clusters: [{name: c, cluster: {server: 6443}}]\n');
    assert.throws(
      () => new KubeClient({ kubeconfig: file }, {}),
      (err: Error) =>
        err instanceof KubeCredentialsError &&
        /^cannot load kubeconfig .*broken\.yaml \(--kubeconfig\): clusters\[0\]\.cluster\.server: expected a string, got number$/.test(
          err.message,
        ),
    );
    const refused = kubeconfig('refused.json', { token: 't', username: 'u', password: 'p' });
    assert.throws(
      () => new KubeClient({ kubeconfig: refused }, {}),
      (err: Error) =>
        err instanceof KubeCredentialsError &&
        err.message ===
          `cannot load kubeconfig ${refused} (--kubeconfig): user "u": token and username/password are both set (only one authentication method is allowed)`,
    );
    const noContext = path.join(dir, 'no-context.yaml');
    writeFileSync(noContext, 'clusters: [{name: c, cluster: {server: "https://h"}}]\n');
    assert.throws(
      () => new KubeClient({ kubeconfig: noContext }, {}),
      /^KubeCredentialsError: no Kubernetes credentials: no current-context in .*no-context\.yaml \(--kubeconfig\), and not in a cluster/,
    );
    assert.throws(
      () => new KubeClient({}, { HOME: dir }),
      /no Kubernetes credentials: KUBECONFIG is not set/,
    );
    const missing = path.join(dir, 'missing.yaml');
    assert.throws(
      () => new KubeClient({}, { HOME: dir, KUBECONFIG: missing }),
      (err: Error) =>
        err instanceof KubeCredentialsError &&
        err.message.startsWith(
          `no Kubernetes credentials: no file of KUBECONFIG (${missing}) exists, and not in a cluster`,
        ),
    );
  });
});
