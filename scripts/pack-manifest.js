// The package.json that `npm pack` and `npm publish` ship: the checkout's without what only a
// checkout uses (scripts that run files the tarball does not contain, devDependencies, npm's
// allowScripts), plus `engines` from bin/supported-node.js. The checkout's manifest has no
// `engines`: `npm ci` runs on whatever Node runs npm and installs Node 24 itself, so a range
// there would only print EBADENGINE.
//
//   node scripts/pack-manifest.js strip     (prepack) writes the shipped manifest, keeps the original
//   node scripts/pack-manifest.js restore   (postpack) puts the original back
//
// npm reads the manifest again after prepack, so the tarball gets the stripped one, and `prepare`
// (gone from it) does not run: prepack builds dist/ itself.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SUPPORTED_NODE_RANGE } from '../bin/supported-node.js';

const manifest = new URL('../package.json', import.meta.url);
const backupDir = new URL('../build/', import.meta.url);
const backup = new URL('package.json.checkout', backupDir);
const CHECKOUT_ONLY = ['scripts', 'devDependencies', 'allowScripts'];

const command = process.argv[2];
if (command === 'strip') {
  // A pack that failed after `strip` left the shipped manifest in place: start from the original.
  if (existsSync(backup)) renameSync(backup, manifest);
  const text = readFileSync(manifest, 'utf8');
  const shipped = JSON.parse(text);
  for (const key of CHECKOUT_ONLY) delete shipped[key];
  shipped.engines = { node: SUPPORTED_NODE_RANGE };
  mkdirSync(backupDir, { recursive: true });
  writeFileSync(backup, text);
  writeFileSync(manifest, JSON.stringify(shipped, null, 2) + '\n');
} else if (command === 'restore') {
  if (existsSync(backup)) renameSync(backup, manifest);
} else {
  process.stderr.write('usage: node scripts/pack-manifest.js strip|restore\n');
  process.exit(2);
}
