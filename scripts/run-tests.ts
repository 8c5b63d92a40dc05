// Runs test files as `node --test` does (the spec reporter, the same files and options), with
// three differences that make the whole suite shorter on a small machine:
// - Unit test files (the folders in SHARED_FOLDERS: no peers, no process of their own needed) run
//   many to a process (`isolation: 'none'`), in `--shared-workers` processes given about equal
//   work: starting Node and loading the sources once per file cost about as much CPU as the
//   tests themselves. Every other file gets its own process, `--concurrency` at a time.
// - The slowest files start first. `node --test` runs files in alphabetical order, so the long
//   integration and packaging files began last and the run waited on them at its end.
// - One on-disk V8 compile cache (NODE_COMPILE_CACHE) for every test process and every process
//   they start: each one otherwise strips types and compiles the same modules again. Entries are
//   keyed by file content, so an edited file is compiled afresh.
// A worker's output is printed whole when it ends (the files of one process in order); the run
// fails if any test, file or worker does.
//
// Usage: node scripts/run-tests.ts [--concurrency=N] [--shared-workers=N]
//          [--test-name-pattern=REGEX]... PATTERN...
// (one file with its own options: `npx node --test test/path/file.test.ts`).
import { spawn } from 'node:child_process';
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

/** Test folders whose files may share a process: they start no peer and leave no global state. */
const SHARED_FOLDERS = [
  'go',
  'runtime',
  'model',
  'config',
  'exposition',
  'engine',
  'sources',
  'http',
  'kube',
  'otel',
  'app',
  'cli',
];

/**
 * Seconds a shared file takes alone, where well above the rest (as measured, see CONTRIBUTING.md,
 * "Suite time"), to give the workers about equal work; any other file counts 1.
 */
const SHARED_WEIGHTS: Record<string, number> = {
  'test/engine/property.test.ts': 12,
  'test/otel/churn.test.ts': 10,
  'test/engine/cel/CelFastPath.test.ts': 7,
  'test/http/webConfig.test.ts': 6.5,
  'test/engine/cel/celCost.test.ts': 5,
  'test/http/encodedBody.test.ts': 4.5,
  'test/cli/pipeOutput.test.ts': 4.4,
  'test/cli/banner.test.ts': 4.2,
  'test/engine/health/builtInKinds.test.ts': 3.2,
  'test/http/HttpServer.test.ts': 3,
  'test/app/initDraft.test.ts': 2.8,
  'test/otel/gzipLookahead.test.ts': 7,
};

const USAGE =
  'usage: node scripts/run-tests.ts [--concurrency=N] [--shared-workers=N] [--test-name-pattern=REGEX]... PATTERN...\n';
let concurrency = 2;
let sharedWorkers = 1;
let worker = false;
const testNamePatterns: string[] = [];
const patterns: string[] = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith('--concurrency=')) concurrency = Number(arg.slice('--concurrency='.length));
  else if (arg.startsWith('--shared-workers=')) sharedWorkers = Number(arg.slice('--shared-workers='.length));
  else if (arg === '--worker')
    worker = true; // internal: runs its files in this process
  else if (arg.startsWith('--test-name-pattern='))
    testNamePatterns.push(arg.slice('--test-name-pattern='.length));
  else if (arg.startsWith('-')) {
    process.stderr.write(`unknown option ${arg}\n${USAGE}`);
    process.exit(2);
  } else patterns.push(arg);
}
if (
  !Number.isInteger(concurrency) ||
  concurrency < 1 ||
  !Number.isInteger(sharedWorkers) ||
  sharedWorkers < 1 ||
  patterns.length === 0
) {
  process.stderr.write(USAGE);
  process.exit(2);
}

const found = [...new Set(patterns.flatMap((p) => globSync(p, { cwd: root })))].sort();
const rank = (file: string) => {
  const i = SLOWEST_FIRST.indexOf(file);
  return i === -1 ? SLOWEST_FIRST.length : i;
};
// Array.prototype.sort is stable: the files not named keep their alphabetical order.
const files = found.sort((a, b) => rank(a) - rank(b)).map((f) => path.resolve(root, f));
if (files.length === 0) {
  process.stderr.write(`no test files match ${patterns.join(' ')}\n`);
  process.exit(1);
}

process.env['NODE_COMPILE_CACHE'] ??= path.join(root, 'node_modules', '.cache', 'node-compile-cache');

const nameOptions = testNamePatterns.length > 0 ? { testNamePatterns } : {};

if (worker) {
  // The files given, in this process, one after another.
  const stream = run({ files, isolation: 'none', cwd: root, ...nameOptions });
  let finished = false;
  stream.on('test:summary', (summary) => {
    if (summary.file !== undefined) return;
    finished = true;
    if (!summary.success) process.exitCode = 1;
  });
  // A file that ends the process (process.exit) would otherwise pass, and the files after it
  // never run.
  process.on('exit', () => {
    if (finished) return;
    process.stdout.write('✖ the process ended before its test files finished (process.exit in a test?)\n');
    process.exitCode = 1;
  });
  stream.compose(spec).pipe(process.stdout);
} else {
  const isShared = (file: string) =>
    SHARED_FOLDERS.some((d) => file.startsWith(path.join(root, 'test', d) + path.sep));
  const shared = files.filter(isShared);
  const own = files.filter((f) => !isShared(f));
  const runs: Promise<boolean>[] = shards(shared, sharedWorkers).map(runWorker);
  if (own.length > 0) runs.push(runOwn(own));
  const results = await Promise.all(runs);
  if (results.some((ok) => !ok)) process.exitCode = 1;
}

/** Splits files into `n` lists of about equal weight (heaviest first onto the lightest list). */
function shards(list: readonly string[], n: number): string[][] {
  const weight = (f: string) => SHARED_WEIGHTS[path.relative(root, f)] ?? 1;
  const out = Array.from({ length: Math.min(n, list.length) }, () => ({ files: [] as string[], weight: 0 }));
  for (const file of [...list].sort((a, b) => weight(b) - weight(a))) {
    const lightest = out.reduce((a, b) => (b.weight < a.weight ? b : a));
    lightest.files.push(file);
    lightest.weight += weight(file);
  }
  return out.map((s) => s.files.sort());
}

/** A worker process for shared files; its output is printed whole when it ends. */
function runWorker(shard: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const names = testNamePatterns.map((p) => `--test-name-pattern=${p}`);
    const child = spawn(process.execPath, [import.meta.filename, '--worker', ...names, ...shard], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => output.push(b));
    child.stderr.on('data', (b: Buffer) => output.push(b));
    child.on('close', (code, signal) => {
      process.stdout.write(Buffer.concat(output));
      if (code !== 0)
        process.stdout.write(
          `✖ the worker process for ${shard.length} shared files ended with ${signal ?? `code ${code}`}\n`,
        );
      resolve(code === 0);
    });
  });
}

/** The other files, each in its own process, `concurrency` at a time. */
function runOwn(list: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    let ok = true;
    const stream = run({ files: [...list], concurrency, cwd: root, ...nameOptions });
    stream.on('test:summary', (summary) => {
      // The summary of the whole run names no file.
      if (summary.file === undefined && !summary.success) ok = false;
    });
    stream
      .compose(spec)
      .on('end', () => resolve(ok))
      .pipe(process.stdout, { end: false });
  });
}
