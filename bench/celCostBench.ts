// CPU per CEL evaluation in two trees, in one process with alternating rounds (a loaded machine
// affects both alike): ordinary expressions, through the fast path and through the library, and
// the quadratic join over the 199 KB object. Usage, e.g. against the commit before the budget:
//   git archive HEAD~1 src bench test/support | tar -x -C /tmp/before
//   ln -s "$PWD/node_modules" /tmp/before/node_modules
//   node --expose-gc bench/celCostBench.ts /tmp/before
// Environment: CEL_OBJECTS (default 2000), AB_ROUNDS (default 8), JOIN_BEFORE=1 also evaluates
// the join in the before tree (it took 47 s there: once).
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type * as CelLibrary from '@bufbuild/cel';
import type * as CelExtensions from '@bufbuild/cel/ext';
import type * as CelModule from '../src/engine/cel/CelExpression.ts';

interface Tree {
  readonly cel: typeof CelModule;
}

async function load(root: string): Promise<Tree> {
  return { cel: (await import(resolve(root, 'src/engine/cel/CelExpression.ts'))) as typeof CelModule };
}

const beforeRoot = process.argv[2];
if (!beforeRoot) {
  console.error('usage: node --expose-gc bench/celCostBench.ts BEFORE_TREE');
  process.exit(2);
}
const trees = { before: await load(beforeRoot), after: await load(resolve(import.meta.dirname, '..')) };
const { joinFoo, JOIN_EXPRESSION } = await import('../test/support/hostileCel.ts');
const N = Number(process.env.CEL_OBJECTS ?? 2_000);
const ROUNDS = Number(process.env.AB_ROUNDS ?? 8);
const MEASURE_MS = 300;

/** examples/backup's two expressions, and ordinary ones beyond the fast path's subset. */
const EXPRESSIONS: readonly [string, string, boolean][] = [
  [
    'backup status (fast path)',
    'has(object.status) && has(object.status.phase) && object.status.phase == "Completed" ? 1 : 0',
    true,
  ],
  [
    'backup duration (fast path)',
    'has(object.status) && has(object.status.startTime) && has(object.status.endTime) ? timestamp(object.status.endTime) - timestamp(object.status.startTime) : null',
    true,
  ],
  [
    'backup status (library)',
    'has(object.status) && has(object.status.phase) && object.status.phase == "Completed" ? 1 : 0',
    false,
  ],
  [
    'backup duration (library)',
    'has(object.status) && has(object.status.startTime) && has(object.status.endTime) ? timestamp(object.status.endTime) - timestamp(object.status.startTime) : null',
    false,
  ],
  [
    'Ready condition (exists over 3)',
    'object.status.conditions.exists(c, c.type == "Ready" && c.status == "True") ? 1 : 0',
    true,
  ],
  ['string function (startsWith)', 'object.metadata.name.startsWith("backup-1") ? 1 : 0', true],
  ['filter over 20 items', 'size(object.spec.items.filter(i, i.ready))', true],
];

function backup(i: number): Record<string, unknown> {
  return {
    apiVersion: 'backup.example.com/v1',
    kind: 'Backup',
    metadata: { name: `backup-${i}`, namespace: `ns-${i % 50}` },
    spec: {
      target: `s3://bucket-${i % 10}/path`,
      items: Array.from({ length: 20 }, (_, j) => ({ name: `item-${j}`, ready: (i + j) % 3 !== 0 })),
    },
    status: {
      phase: i % 7 === 0 ? 'Failed' : 'Completed',
      startTime: '2026-02-09T10:00:00Z',
      endTime: '2026-02-09T10:05:00Z',
      conditions: [
        { type: 'Progressing', status: 'False' },
        { type: 'Ready', status: i % 5 === 0 ? 'False' : 'True' },
        { type: 'Degraded', status: 'False' },
      ],
    },
  };
}

const cpuMicros = () => {
  const u = process.threadCpuUsage();
  return u.user + u.system;
};
const results = new Map<string, number[]>();
const note = (key: string, microsPerEvaluation: number) =>
  results.set(key, [...(results.get(key) ?? []), microsPerEvaluation]);
const objects = Array.from({ length: N }, (_, i) => backup(i));

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
  for (const tag of order) {
    const { CelExpression, CelConversionCache } = trees[tag].cel;
    for (const [name, source, fastPath] of EXPRESSIONS) {
      const expression = new CelExpression(source, { fastPath });
      // One conversion cache per object, as one object event has.
      const pass = () => {
        for (const o of objects) expression.evaluate(o, o, new CelConversionCache());
      };
      pass(); // warm-up
      globalThis.gc?.();
      // Passes for at least MEASURE_MS: the thread's CPU clock advances in ticks of milliseconds.
      const start = cpuMicros();
      const until = performance.now() + MEASURE_MS;
      let passes = 0;
      do {
        pass();
        passes++;
      } while (performance.now() < until);
      note(`${name}|${tag}`, (cpuMicros() - start) / (N * passes));
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `\nCEL A/B: ${N} objects per pass, ${ROUNDS} alternating rounds, µs of this thread's CPU per evaluation\n`,
);
console.log('| expression | before: median (best) | after: median (best) | after/before, median |');
console.log('|---|---:|---:|---:|');
for (const [name] of EXPRESSIONS) {
  const b = results.get(`${name}|before`)!;
  const a = results.get(`${name}|after`)!;
  console.log(
    `| ${name} | ${median(b).toFixed(2)} (${Math.min(...b).toFixed(2)}) | ${median(a).toFixed(2)} (${Math.min(...a).toFixed(2)}) | ${(median(a) / median(b)).toFixed(2)} |`,
  );
}

/** One evaluation of the join over the 199 KB object: ms of CPU, and how it ended. */
function join(tree: Tree, costLimit?: number): { ms: number; outcome: string } {
  const { CelExpression, CelConversionCache } = tree.cel;
  const object = joinFoo();
  const expression = new CelExpression(JOIN_EXPRESSION, costLimit === undefined ? {} : { costLimit });
  const start = cpuMicros();
  let outcome: string;
  try {
    outcome = JSON.stringify(expression.evaluate(object, object, new CelConversionCache()));
  } catch (err) {
    outcome = `${(err as Error).name}`;
  }
  return { ms: (cpuMicros() - start) / 1000, outcome };
}

console.log('\nWhat a budget costs: the join stopped at limits.celCost, after tree, ms of CPU, best of 5\n');
console.log('| limits.celCost | ms of CPU | µs per 1,000 units |');
console.log('|---:|---:|---:|');
for (const limit of [10_000, 50_000, 100_000, 200_000]) {
  const best = Math.min(...Array.from({ length: 5 }, () => join(trees.after, limit).ms));
  console.log(
    `| ${limit.toLocaleString('en')} | ${best.toFixed(1)} | ${((best * 1000) / (limit / 1000)).toFixed(0)} |`,
  );
}

console.log(`\nThe join over the ${JSON.stringify(joinFoo()).length.toLocaleString('en')}-byte object\n`);
console.log('| tree | ms of CPU | outcome |');
console.log('|---|---:|---|');
for (let i = 0; i < 3; i++) {
  const r = join(trees.after);
  console.log(`| after (run ${i + 1}) | ${r.ms.toFixed(1)} | ${r.outcome} |`);
}
if (process.env.JOIN_BEFORE === '1') {
  const r = join(trees.before);
  console.log(`| before | ${r.ms.toFixed(0)} | ${r.outcome} |`);
}

/**
 * The hooks' own cost, against the floor of the same library without them: a `filter` of 1,000
 * turns, planned by the library directly and by CelExpression (the library path), best of 60.
 */
const require = createRequire(import.meta.url);
const cel = require('@bufbuild/cel') as typeof CelLibrary;
const { strings } = require('@bufbuild/cel/ext') as typeof CelExtensions;
const FILTER = 'size(object.items.filter(i, i.ready))';
const listObject = {
  items: Array.from({ length: 1_000 }, (_, j) => ({ name: `item-${j}`, ready: j % 3 !== 0 })),
};
const bare = cel.plan(cel.celEnv({ funcs: strings }), cel.parse(FILTER)) as (
  vars: Record<string, unknown>,
) => unknown;
const { CelExpression, CelConversionCache } = trees.after.cel;
const budgeted = new CelExpression(FILTER, { fastPath: false });
const unlimited = new CelExpression(FILTER, { fastPath: false, costLimit: 0 });
const variants: [string, () => void][] = [
  [
    'the library, no hooks (floor)',
    () => {
      const conversions = new CelConversionCache();
      bare({ object: conversions.convert(listObject), self: conversions.convert(listObject) });
    },
  ],
  [
    'with the hooks (the budget)',
    () => {
      budgeted.evaluate(listObject, listObject, new CelConversionCache());
    },
  ],
  [
    'with the hooks, celCost 0 (no deadline)',
    () => {
      unlimited.evaluate(listObject, listObject, new CelConversionCache());
    },
  ],
];
const bestPerTurn = new Map<string, number>();
for (let round = 0; round < 60; round++)
  for (const [name, run] of variants) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) run();
    const micros = Number(process.hrtime.bigint() - start) / 1e3 / 5 / 1_000;
    bestPerTurn.set(name, Math.min(bestPerTurn.get(name) ?? Infinity, micros));
  }
console.log('\nA 1,000-turn filter through the library, µs per turn (wall, best of 60)\n');
console.log('| variant | µs per turn | over the floor |');
console.log('|---|---:|---:|');
const floor = bestPerTurn.get(variants[0]![0])!;
for (const [name] of variants) {
  const v = bestPerTurn.get(name)!;
  console.log(`| ${name} | ${v.toFixed(2)} | ${(v / floor).toFixed(2)} |`);
}
