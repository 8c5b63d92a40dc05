/**
 * Run in a private network namespace (see test/integration/kubeDeadConnection.test.ts): serves a
 * watch-like response over TLS, and once our KubeClient has its first bytes, drops every packet on
 * the loopback with iptables, as a vanished peer or a dropped NAT entry would (no FIN, no RST).
 * Prints one JSON line: how long after the drop the client's response failed, and with what, or
 * `{"failedAfterMs":null}` when it had not failed within `argv[2]` ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from '../../src/kube/KubeClient.ts';
import { makeCa, makeCert, pem } from './certs.ts';

const limitMs = Number(process.argv[2] ?? 90_000);
const dir = mkdtempSync(path.join(tmpdir(), 'dead-connection-'));
const ca = makeCa(dir, 'ca');
const serving = makeCert(dir, ca, 'server');
const server = createServer({ cert: pem(serving.cert), key: pem(serving.key) }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"type":"BOOKMARK","object":{}}\n');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const kubeconfig = path.join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  JSON.stringify({
    'current-context': 'x',
    clusters: [
      {
        name: 'c',
        cluster: {
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          'certificate-authority-data': Buffer.from(pem(ca.cert)).toString('base64'),
        },
      },
    ],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    users: [{ name: 'u', user: { token: 't' } }],
  }),
);

const client = new KubeClient({ kubeconfig }, {});
const response = await client.get(
  '/apis/x/v1/things',
  { watch: 'true' },
  AbortSignal.timeout(limitMs + 60_000),
);
let droppedAt = 0;
const reading = (async (): Promise<{ failedAfterMs: number; error: string }> => {
  try {
    for await (const chunk of response.body) {
      if (droppedAt === 0 && chunk.length > 0) {
        execFileSync('iptables', ['-A', 'INPUT', '-i', 'lo', '-j', 'DROP']);
        droppedAt = Date.now();
      }
    }
    return { failedAfterMs: Date.now() - droppedAt, error: 'ended' };
  } catch (err) {
    return {
      failedAfterMs: Date.now() - droppedAt,
      error: (err as NodeJS.ErrnoException).code ?? String(err),
    };
  }
})();
const result = await Promise.race([
  reading,
  new Promise<{ failedAfterMs: null }>((resolve) =>
    setTimeout(() => resolve({ failedAfterMs: null }), limitMs).unref(),
  ),
]);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
