// Fast creation of many Backup objects in a real kube-apiserver, for the large-scale benchmarks.
// `kubectl create -f` of a List sends one request at a time (about 55 objects/s on the loaded
// machine: 30 minutes for 100k); here many POSTs are in flight at once on the KubeClient's
// HTTP/2 connection, so the API server's own admission and storage work is the limit.
import path from 'node:path';
import { KubeApiError, KubeClient } from '../src/kube/KubeClient.ts';
import { repoRoot } from '../test/harness/binaries.ts';
import type { KubeApiserverHandle } from '../test/harness/kubeApiserver.ts';

export const BACKUPS_PATH = '/apis/backup.example.com/v1/backups';

/** Backup number `i`: spec and status vary with i, so series values and labels differ per object. */
export function backupManifest(i: number, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'backup.example.com/v1',
    kind: 'Backup',
    metadata: { name: `b-${i}`, namespace },
    spec: { target: `s3://bucket-${i % 20}/backups/${i}` },
    status: {
      phase: i % 7 === 0 ? 'Failed' : 'Completed',
      sizeBytes: 1048576 + i,
      startTime: '2026-02-09T10:00:00Z',
      endTime: '2026-02-09T10:05:00Z',
    },
  };
}

/** Applies the Backup CRD and waits until it is Established. */
export async function installBackupCrd(api: KubeApiserverHandle): Promise<void> {
  const run = async (args: string[]) => {
    const r = await api.kubectl(args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  await run(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
  await run(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=60s']);
}

export interface CreateResult {
  created: number;
  ms: number;
  objectsPerSecond: number;
}

/**
 * Creates Backups b-`from` … b-`to - 1` in `namespace` with `inFlight` POSTs outstanding. A 409
 * (already exists, from a retried request) counts as created; 429 and 5xx are retried after a pause.
 */
export async function createBackups(
  client: KubeClient,
  from: number,
  to: number,
  options: { namespace?: string; inFlight?: number; onProgress?: (done: number) => void } = {},
): Promise<CreateResult> {
  const namespace = options.namespace ?? 'default';
  const url = `/apis/backup.example.com/v1/namespaces/${namespace}/backups`;
  const start = performance.now();
  let next = from;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await client.post(url, backupManifest(i, namespace), AbortSignal.timeout(60_000));
          res.cancel();
          break;
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 409) break;
          const retriable =
            !(err instanceof KubeApiError) || err.status === 429 || err.status >= 500 || attempt < 3;
          if (!retriable || attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
      if (++done % 10_000 === 0) options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight ?? 64 }, worker));
  const ms = performance.now() - start;
  return { created: done, ms, objectsPerSecond: (done / ms) * 1000 };
}

/** A new admin client on the API server (one HTTP/2 connection pool). */
export function adminClient(api: KubeApiserverHandle): KubeClient {
  return new KubeClient({ kubeconfig: api.adminKubeconfigPath });
}

/**
 * Creates Backups b-`from` … b-`to - 1` by writing them straight into the API server's etcd, in
 * transactions of 128 puts (etcd's default `--max-txn-ops`). The first one is created through the
 * API and read back from etcd as the template, so every stored object has exactly the shape the
 * API server writes (managedFields, creationTimestamp, generation), with its own name and uid and
 * a varying spec and status. The API server's watch cache picks the writes up from etcd like any
 * other change; what the benchmarks then measure (lists, watches, the bridge, KSM) goes through
 * the real API server as usual. Only the setup skips admission, validation and the field manager,
 * which made API creates the slowest part (about 150 objects/s on 2 shared cores).
 */
export async function createBackupsViaEtcd(
  api: KubeApiserverHandle,
  client: KubeClient,
  from: number,
  to: number,
  options: { namespace?: string; inFlight?: number } = {},
): Promise<CreateResult> {
  const namespace = options.namespace ?? 'default';
  const start = performance.now();
  if (from >= to) return { created: 0, ms: 0, objectsPerSecond: 0 };
  await createBackups(client, from, from + 1, { namespace, inFlight: 1 });
  const key = (name: string) => `/registry/backup.example.com/backups/${namespace}/${name}`;
  const etcd = async (method: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${api.etcdUrl}/v3/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`etcd ${method}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const got = (await etcd('kv/range', { key: b64(key(`b-${from}`)) })) as {
    kvs?: { value: string }[];
  };
  const stored = got.kvs?.[0]?.value;
  if (!stored) throw new Error(`the template object is not at ${key(`b-${from}`)} in etcd`);
  const template = JSON.parse(Buffer.from(stored, 'base64').toString('utf8')) as Record<string, unknown>;
  if ((template.metadata as { name?: string }).name !== `b-${from}`)
    throw new Error(`unexpected stored object: ${JSON.stringify(template).slice(0, 300)}`);
  const { randomUUID } = await import('node:crypto');
  const encode = (i: number): { requestPut: { key: string; value: string } } => {
    const manifest = backupManifest(i, namespace);
    const object = {
      ...template,
      metadata: { ...(template.metadata as object), name: `b-${i}`, uid: randomUUID() },
      spec: manifest.spec,
      status: manifest.status,
    };
    return { requestPut: { key: b64(key(`b-${i}`)), value: b64(JSON.stringify(object)) } };
  };
  let next = from + 1;
  const txnOps = 128;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const first = next;
      next = Math.min(to, next + txnOps);
      const success = [];
      for (let i = first; i < next; i++) success.push(encode(i));
      await etcd('kv/txn', { success });
    }
  };
  await Promise.all(Array.from({ length: options.inFlight ?? 4 }, worker));
  // Until the API server lists them all (its watch cache follows etcd asynchronously); limit=1
  // keeps each check cheap and remainingItemCount says how many there are.
  for (let tries = 0; ; tries++) {
    const count = await countBackups(client);
    if (count >= to) break;
    if (tries >= 120) throw new Error(`after writing b-${from}…b-${to - 1} the API server lists ${count}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const ms = performance.now() - start;
  return { created: to - from, ms, objectsPerSecond: ((to - from) / ms) * 1000 };
}

/** How many Backups the API server lists (all namespaces), by a consistent list with limit=1. */
export async function countBackups(client: KubeClient): Promise<number> {
  const res = await client.get(BACKUPS_PATH, { limit: '1' }, AbortSignal.timeout(120_000));
  const page = (await res.json()) as { items: unknown[]; metadata: { remainingItemCount?: number } };
  return page.items.length + (page.metadata.remainingItemCount ?? 0);
}
