// Fails fast, with a message a person can act on, when an npm script of a checkout runs on a Node the
// bridge does not support: the rule of the launcher (bin/supported-node.js). `npm ci` installs Node 24
// from the npm registry (the `node` devDependency) and npm scripts put it first on PATH.
import { SUPPORTED_NODE_TEXT, isSupportedNode } from '../bin/supported-node.js';

if (!isSupportedNode(process.version)) {
  process.stderr.write(
    `crd-metrics-bridge needs ${SUPPORTED_NODE_TEXT}, but this is Node ${process.version} (${process.execPath}).\n` +
      `Run \`npm ci\` (it installs Node 24 from the npm registry as the "node" package; do not pass --ignore-scripts),\n` +
      `then use \`npm test\`, \`npm start\` or \`npx crd-metrics-bridge\`, which run node_modules/.bin/node.\n`,
  );
  process.exit(1);
}
