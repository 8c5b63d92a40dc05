// `npm run build` (and `prepare`, so `npm ci` in a clone builds too): compiles src/ to JavaScript in
// dist/ (Node strips types only outside node_modules, so an installed package must ship JavaScript)
// and records the git revision in dist/build-info.json for `--version`.
// CRD_METRICS_BRIDGE_REVISION overrides the revision (image builds have no .git).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url);
const dist = new URL('dist/', root);

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (compiled.status !== 0) {
  process.stderr.write('build: tsc failed\n');
  process.exit(compiled.status ?? 1);
}

writeFileSync(new URL('build-info.json', dist), JSON.stringify({ revision: revision() }) + '\n');

function revision() {
  const given = process.env.CRD_METRICS_BRIDGE_REVISION;
  if (given) return given;
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short=12', 'HEAD');
  if (head.status !== 0) return 'unknown';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return head.stdout.trim() + (dirty ? '-dirty' : '');
}
