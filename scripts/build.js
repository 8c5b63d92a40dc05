// `npm run build` (and `prepare`, so `npm ci` in a clone builds too): bundles src/ into dist/ with
// esbuild (Node strips types only outside node_modules, so an installed package must ship
// JavaScript) and records the git revision in dist/build-info.json for `--version`.
// CRD_METRICS_BRIDGE_REVISION overrides the revision (image builds have no .git).
//
// Why a bundle: `run` otherwise resolves, stats, reads and compiles ~850 modules (OpenTelemetry SDK,
// yaml, pino, commander, prom-client) before it answers /healthz. The bundle is a few files.
//
// Layout: every output file sits directly in dist/ (entries main.js, createOtlpExporter.js,
// bufbuild-cel.js, bufbuild-cel-ext.js, bcryptWorker.js; shared chunk-*.js), so
// `import.meta.url`-relative paths work from whichever file esbuild puts the code in:
// src/version.ts reads ../package.json and ./build-info.json, src/otel/createTelemetry.ts requires
// ./createOtlpExporter.js only when an OTLP push is configured, src/engine/cel/CelExpression.ts
// requires the CEL library on the first expression, src/http/BcryptPool.ts starts ./bcryptWorker.js
// as a worker thread (basic auth). Entries share code through the chunks (one copy of the
// OpenTelemetry SDK, so instanceof holds). Packages seldom needed stay external and load from
// node_modules (production dependencies are installed with the package): @opentelemetry/configuration
// (OTEL_CONFIG_FILE), @kubernetes/client-node (exec and auth-provider kubeconfigs).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const dist = new URL('dist/', root);

rmSync(dist, { recursive: true, force: true });
let metafile;
try {
  ({ metafile } = await build({
    absWorkingDir: fileURLToPath(root),
    entryPoints: {
      main: 'src/cli/main.ts',
      createOtlpExporter: 'src/otel/createOtlpExporter.ts',
      // Required by src/engine/cel/CelExpression.ts on the first CEL expression.
      'bufbuild-cel': '@bufbuild/cel',
      'bufbuild-cel-ext': '@bufbuild/cel/ext',
      // The worker thread of src/http/BcryptPool.ts (basic auth), started by file name.
      bcryptWorker: 'src/http/bcryptWorker.ts',
    },
    outdir: 'dist',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22.19',
    external: ['@opentelemetry/configuration', '@kubernetes/client-node'],
    // Bundled CommonJS (pino, prom-client, …) calls require() for Node built-ins; ESM has none.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'warning',
    metafile: true,
  }));
} catch {
  // esbuild has printed the errors.
  process.stderr.write('build: esbuild failed\n');
  process.exit(1);
}

writeFileSync(new URL('build-info.json', dist), JSON.stringify({ revision: revision() }) + '\n');
writeFileSync(
  new URL('bundled-packages.cdx.json', dist),
  JSON.stringify(bundledPackagesBom(metafile), null, 2) + '\n',
);

/**
 * The packages whose code esbuild put into dist/, as a CycloneDX 1.5 SBOM: they are dev
 * dependencies of the checkout, so an installed package's node_modules does not show them to
 * audit and SBOM tools (`grype sbom:dist/bundled-packages.cdx.json`, `trivy sbom ...`).
 */
function bundledPackagesBom(meta) {
  const dirs = new Set();
  for (const input of Object.keys(meta.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) dirs.add(match[1]);
  }
  const byPurl = new Map();
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, root), 'utf8'));
    const purl = `pkg:npm/${pkg.name.replace('@', '%40')}@${pkg.version}`;
    const license = typeof pkg.license === 'string' ? [{ expression: pkg.license }] : undefined;
    byPurl.set(purl, {
      type: 'library',
      'bom-ref': purl,
      name: pkg.name,
      version: pkg.version,
      purl,
      ...(license ? { licenses: license } : {}),
    });
  }
  const self = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      component: {
        type: 'application',
        name: self.name,
        version: self.version,
        purl: `pkg:npm/${self.name}@${self.version}`,
      },
    },
    components: [...byPurl.values()].sort((a, b) => a.purl.localeCompare(b.purl)),
  };
}

function revision() {
  const given = process.env.CRD_METRICS_BRIDGE_REVISION;
  if (given) return given;
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short=12', 'HEAD');
  if (head.status !== 0) return 'unknown';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return head.stdout.trim() + (dirty ? '-dirty' : '');
}
