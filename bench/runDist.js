// Runs the bridge from a checkout's dist/ (the bundle the npm package and the image run), where
// bin/crd-metrics-bridge.js would run the TypeScript sources. The benchmarks spawn this, so they
// measure what users run; `npm run bench` rebuilds dist/ first. BENCH_BRIDGE_ROOT picks another
// checkout (whose dist/ is built), BENCH_BRIDGE_FROM=src the sources through bin/ instead.
import { existsSync } from 'node:fs';
import module from 'node:module';

module.enableCompileCache?.();
const root = new URL(`${process.env.BENCH_BRIDGE_ROOT ?? new URL('..', import.meta.url).pathname}/`, 'file:');
// dist/main.js since the bundle; dist/cli/main.js in older checkouts (tsc output).
const entry = ['dist/main.js', 'dist/cli/main.js'].map((p) => new URL(p, root)).find((u) => existsSync(u));
if (!entry) {
  process.stderr.write(`no dist/ in ${root.pathname}: run \`npm run build\` there first\n`);
  process.exit(2);
}
const { main } = await import(entry.href);
process.exit(await main(process.argv.slice(2)));
