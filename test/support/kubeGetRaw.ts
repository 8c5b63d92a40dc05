/**
 * Our KubeClient's `kubectl get --raw PATH`, as a child process so that it sees exactly the
 * environment, files and mount namespace kubectl sees: `node kubeGetRaw.ts PATH [--kubeconfig F]
 * [--context C]`. Prints one JSON line: {"outcome":"ok","status":200}, {"outcome":"refused",
 * "message":…} (the constructor's one-line KubeCredentialsError, before any request), or
 * {"outcome":"failed","message":…} (the request failed: a TLS error or a non-2xx answer).
 */
import { parseArgs } from 'node:util';
import { KubeClient, KubeCredentialsError } from '../../src/kube/KubeClient.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { kubeconfig: { type: 'string' }, context: { type: 'string' } },
});
const print = (result: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

let client: KubeClient;
try {
  client = new KubeClient({
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
  });
} catch (err) {
  print({
    outcome: err instanceof KubeCredentialsError ? 'refused' : 'crashed',
    message: err instanceof Error ? err.message : String(err),
  });
  process.exit(0);
}
try {
  const response = await client.get(positionals[0] ?? '/api', {}, AbortSignal.timeout(10_000));
  await response.text();
  print({ outcome: 'ok', status: response.status });
} catch (err) {
  print({ outcome: 'failed', message: err instanceof Error ? err.message : String(err) });
} finally {
  await client.close();
}
