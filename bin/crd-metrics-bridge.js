#!/usr/bin/env node
// Launcher: checks the Node version before loading anything else, then hands over to the CLI: the
// TypeScript sources in a checkout (Node strips types, so edits need no rebuild), the bundled dist/
// when installed (Node does not strip types under node_modules, and the package ships no src/).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { SUPPORTED_NODE_TEXT, isSupportedNode } from './supported-node.js';

if (!isSupportedNode(process.version)) {
  process.stderr.write(
    `crd-metrics-bridge needs ${SUPPORTED_NODE_TEXT}, but this is Node ${process.version} (${process.execPath}).\n` +
      'Without changing the system Node, npx can fetch one from the npm registry for this run:\n' +
      '  npx --yes -p node@24 -p crd-metrics-bridge -- crd-metrics-bridge --help\n' +
      'or run the container image. In a checkout of the project, `npm ci` installs Node 24 and\n' +
      '`npx crd-metrics-bridge` runs on it.\n',
  );
  process.exit(1);
}
// V8's code cache for the modules below, in the OS temp directory: later starts skip most
// compilation. Silently off where that directory is not writable (e.g. a read-only root file system).
module.enableCompileCache?.();
const sources = new URL('../src/cli/main.ts', import.meta.url);
const fromSources = !import.meta.dirname.split(/[\\/]/).includes('node_modules') && existsSync(sources);
const { main } = await import(fromSources ? sources.href : '../dist/main.js');
// Exit as soon as the command is done: `run` shuts down within a bounded time, but a library may
// keep a handle open past it (an OTLP retry timer), and letting the event loop drain tears down
// the whole heap first, about a second at 100k objects on a loaded machine. Either would break
// "SIGTERM stops it in 2 s". Output is flushed first: stdout and stderr are synchronous for files
// and terminals, but a pipe that is full (a slow reader: `render ... | less`) takes the rest
// asynchronously, and exiting then would cut it. A reader that has gone (`| head`) ends the wait.
const code = await main(process.argv.slice(2));
await Promise.all(
  [process.stdout, process.stderr].map(
    (stream) =>
      new Promise((resolve) => {
        stream.once('error', resolve);
        stream.write('', resolve);
      }),
  ),
);
process.exit(code);
