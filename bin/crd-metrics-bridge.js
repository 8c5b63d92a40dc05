#!/usr/bin/env node
// Launcher: checks the Node version before loading any TypeScript (Node 24 strips types natively,
// so there is no build step), then hands over to the CLI.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  process.stderr.write(
    `crd-metrics-bridge needs Node.js 24 LTS, but this is Node ${process.version}.\n` +
      'Run `npm ci` in the project (it installs Node 24 from the npm registry) and start it with `npx crd-metrics-bridge`.\n',
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
// Exit as soon as the command is done (stdout and stderr are synchronous for files, pipes and
// terminals): `run` shuts down within a bounded time, but a library may keep a handle open past
// it (an OTLP retry timer), and letting the event loop drain tears down the whole heap first,
// about a second at 100k objects on a loaded machine. Either would break "SIGTERM stops it in 2 s".
process.exit(await main(process.argv.slice(2)));
