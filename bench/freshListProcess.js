// The floor for "process start to synced": a minimal fresh Node process that only streams one
// collection's list (watch with sendInitialEvents, as the bridge's initial sync does) over
// node:https and JSON-parses every event, nothing else. Plain JavaScript with no imports beyond
// Node's own, so it pays no module loading or type stripping. Spawned by bench/kubeBench.ts next
// to the bridge process, so both meet the same server at the same time.
//
//   node bench/freshListProcess.js KUBECONFIG PATH
// KUBECONFIG must be JSON with inline certificate data (what the test harness writes).
// Prints one JSON line: objects, and the process's own CPU (user+system) in ms.
import { readFileSync } from 'node:fs';
import https from 'node:https';

const [kubeconfigFile, collection] = process.argv.slice(2);
const kubeconfig = JSON.parse(readFileSync(kubeconfigFile, 'utf8'));
const cluster = kubeconfig.clusters[0].cluster;
const user = kubeconfig.users[0].user;
const data = (field) => (field ? Buffer.from(field, 'base64') : undefined);
const url = new URL(
  `${cluster.server}${collection}?watch=1&allowWatchBookmarks=true&sendInitialEvents=true` +
    '&resourceVersionMatch=NotOlderThan&timeoutSeconds=600',
);

let objects = 0;
let buffer = '';
/** True at the bookmark that ends the initial events. */
function onLine(line) {
  const event = JSON.parse(line);
  if (event.type === 'ADDED') objects++;
  else if (event.type === 'ERROR') throw new Error(line);
  return (
    event.type === 'BOOKMARK' && event.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true'
  );
}

await new Promise((resolve, reject) => {
  const request = https.request(
    url,
    {
      ca: data(cluster['certificate-authority-data']),
      cert: data(user['client-certificate-data']),
      key: data(user['client-key-data']),
      headers: {
        accept: 'application/json',
        'accept-encoding': 'identity',
        ...(user.token ? { authorization: `Bearer ${user.token}` } : {}),
      },
    },
    (response) => {
      if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}`));
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        buffer += chunk;
        let start = 0;
        let newline;
        while ((newline = buffer.indexOf('\n', start)) >= 0) {
          const line = buffer.slice(start, newline);
          start = newline + 1;
          if (onLine(line)) {
            request.destroy();
            resolve();
            return;
          }
        }
        buffer = buffer.slice(start);
      });
      response.on('error', reject);
    },
  );
  request.on('error', reject);
  request.end();
});
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ objects, cpuMs: (cpu.user + cpu.system) / 1000 }) + '\n');
process.exit(0);
