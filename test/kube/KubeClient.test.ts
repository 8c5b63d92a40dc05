import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeClient, KubeCredentialsError } from '../../src/kube/KubeClient.ts';

// A plain HTTP endpoint that records request headers: the seam is the wire, not client-node.
let server: Server;
let url = '';
const seen: IncomingHttpHeaders[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'kubeclient-test-'));

before(async () => {
  server = createServer((req, res) => {
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
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, user: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

async function headersFor(file: string): Promise<IncomingHttpHeaders> {
  const client = new KubeClient({ kubeconfig: file }, {});
  try {
    await (await client.get('/api', {}, AbortSignal.timeout(30_000))).text();
  } finally {
    await client.close();
  }
  return seen.at(-1)!;
}

describe('KubeClient credentials on the wire', () => {
  it('sends a kubeconfig token, and asks for uncompressed responses', async () => {
    const headers = await headersFor(kubeconfig('token.json', { token: 't1' }));
    assert.equal(headers.authorization, 'Bearer t1');
    assert.equal(headers['accept-encoding'], 'identity');
  });

  it('runs an exec credential plugin (through client-node)', async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    });
    const headers = await headersFor(
      kubeconfig('exec.json', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: process.execPath,
          args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
          interactiveMode: 'Never',
        },
      }),
    );
    assert.equal(headers.authorization, 'Bearer from-exec');
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
    writeFileSync(file, 'clusters: [{name: c, cluster: {}}]\n');
    assert.throws(
      () => new KubeClient({ kubeconfig: file }, {}),
      (err: Error) =>
        err instanceof KubeCredentialsError &&
        /^cannot load kubeconfig .*broken\.yaml \(--kubeconfig\): clusters\[0\]\.cluster\.server is missing$/.test(
          err.message,
        ),
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
