// Runs test files as `node --test` does (one process per file, the spec reporter), with two
// differences that make the whole suite shorter on a small machine:
// - The slowest files start first. `node --test` runs files in alphabetical order, so the long
//   integration and packaging files began last and the run waited on them at its end.
// - One on-disk V8 compile cache (NODE_COMPILE_CACHE) for every test process and every process
//   they start: each one otherwise strips types and compiles the same modules again. Entries are
//   keyed by file content, so an edited file is compiled afresh.
//
// Usage: node scripts/run-tests.ts [--concurrency=N] [--test-name-pattern=REGEX]... PATTERN...
// (one file with its own options: `npx node --test test/path/file.test.ts`).
import { globSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const root = path.resolve(import.meta.dirname, '..');

/**
 * The longest files, longest first (as measured, see CONTRIBUTING.md, "Suite time"). A file not
 * named here starts after these, in alphabetical order.
 */
const SLOWEST_FIRST = [
  'test/integration/image.test.ts',
  'test/integration/kubernetes.test.ts',
  'test/package/npmPackage.test.ts',
  'test/integration/otlpOutage.test.ts',
  'test/integration/helm.test.ts',
  'test/package/imageTree.test.ts',
  'test/integration/kubeconfigKubectl.test.ts',
  'test/integration/kubeDeadWatch.test.ts',
  'test/integration/aggregates.test.ts',
  'test/mixin/mixin.test.ts',
  'test/integration/faults.test.ts',
  'test/lint/lint.test.ts',
  'test/integration/budgets.test.ts',
  'test/integration/kustomize.test.ts',
  'test/integration/servingFaults.test.ts',
  'test/integration/authFilter.test.ts',
  'test/integration/sharding.test.ts',
  'test/integration/mixin-metrics.test.ts',
  'test/integration/kubeDeadConnection.test.ts',
  'test/otel/churn.test.ts',
  'test/integration/webConfig.test.ts',
  'test/integration/initFromCluster.test.ts',
  'test/integration/kubeReload.test.ts',
  'test/harness/peers.test.ts',
  'test/engine/property.test.ts',
  'test/engine/cel/CelFastPath.test.ts',
];

const USAGE =
  'usage: node scripts/run-tests.ts [--concurrency=N] [--test-name-pattern=REGEX]... PATTERN...\n';
let concurrency = 2;
const testNamePatterns: string[] = [];
const patterns: string[] = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith('--concurrency=')) concurrency = Number(arg.slice('--concurrency='.length));
  else if (arg.startsWith('--test-name-pattern='))
    testNamePatterns.push(arg.slice('--test-name-pattern='.length));
  else if (arg.startsWith('-')) {
    process.stderr.write(`unknown option ${arg}\n${USAGE}`);
    process.exit(2);
  } else patterns.push(arg);
}
if (!Number.isInteger(concurrency) || concurrency < 1 || patterns.length === 0) {
  process.stderr.write(USAGE);
  process.exit(2);
}

const found = [...new Set(patterns.flatMap((p) => globSync(p, { cwd: root })))].sort();
const rank = (file: string) => {
  const i = SLOWEST_FIRST.indexOf(file);
  return i === -1 ? SLOWEST_FIRST.length : i;
};
// Array.prototype.sort is stable: the files not named keep their alphabetical order.
const files = found.sort((a, b) => rank(a) - rank(b)).map((f) => path.join(root, f));
if (files.length === 0) {
  process.stderr.write(`no test files match ${patterns.join(' ')}\n`);
  process.exit(1);
}

process.env['NODE_COMPILE_CACHE'] ??= path.join(root, 'node_modules', '.cache', 'node-compile-cache');

const stream = run({
  files,
  concurrency,
  cwd: root,
  ...(testNamePatterns.length > 0 ? { testNamePatterns } : {}),
});
stream.on('test:summary', (summary) => {
  // The summary of the whole run names no file.
  if (summary.file === undefined && !summary.success) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
