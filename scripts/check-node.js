// Fails fast, with a message a person can act on, when the project runs on a Node other than 24.
// `npm ci` installs Node 24 from the npm registry (the `node` devDependency) and npm scripts put it first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  process.stderr.write(
    `crd-metrics-bridge needs Node.js 24 LTS, but this is Node ${process.version} (${process.execPath}).\n` +
      `Run \`npm ci\` (it installs Node 24 from the npm registry as the "node" package; do not pass --ignore-scripts),\n` +
      `then use \`npm test\`, \`npm start\` or \`npx crd-metrics-bridge\`, which run node_modules/.bin/node.\n`,
  );
  process.exit(1);
}
