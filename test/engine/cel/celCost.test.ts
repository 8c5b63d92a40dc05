import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as CelLibrary from '@bufbuild/cel';
import type * as CelExtensions from '@bufbuild/cel/ext';
import fc from 'fast-check';
import { ConfigError } from '../../../src/config/ConfigError.ts';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { CostMeter } from '../../../src/engine/cel/CelCost.ts';
import type { MeterClocks } from '../../../src/engine/cel/CelCost.ts';
import { CelConversionCache, CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import type { CelOutcome } from '../../../src/engine/cel/CelExpression.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import { LimitExceeded } from '../../../src/engine/limits.ts';
import type { SeriesLimits } from '../../../src/engine/limits.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import {
  celJoinConfig,
  joinFoo,
  JOIN_FOO_BYTES,
  smallFoo,
  writeJoinFixture,
} from '../../support/hostileCel.ts';
import { runCli } from '../../support/runCli.ts';

function setup(configText = celJoinConfig(), limits: Partial<SeriesLimits> = {}) {
  const config = compileConfig(parseConfig(configText, 'foo.yaml'), { limits });
  const cache = new SeriesCache(config.families);
  const errors = new ObjectErrors();
  const ingestor = new ObjectIngestor(config, cache, errors);
  const text = () => renderFamilies(config.families, (f) => cache.blocks(f), 'text');
  const kinds = () => Object.fromEntries(errors.summaries().map((s) => [s.kind, s.count]));
  return { config, ingestor, errors, text, kinds };
}

function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/** Evaluates on `object` as both `object` and `self`; LimitExceeded is returned, not thrown. */
function evaluate(
  source: string,
  object: unknown,
  options: { costLimit?: number; fastPath?: boolean } = {},
): CelOutcome | LimitExceeded {
  try {
    return new CelExpression(source, options).evaluate(object, object, new CelConversionCache());
  } catch (err) {
    if (err instanceof LimitExceeded) return err;
    throw err;
  }
}

/** A Foo with `n` items named i0, i1, ... and the ids as a plain list. */
function listFoo(n: number) {
  const ids = Array.from({ length: n }, (_, i) => `i${i}`);
  return { spec: { items: ids.map((id) => ({ id })), ids }, status: { phase: 'Ready' } };
}

describe('CEL cost budget at runtime', () => {
  it('the quadratic join over the 199 KB object fails that object within 100 ms of CPU; other objects are served', (ctx) => {
    const t = setup();
    assert.equal(t.ingestor.upsertNow('test', 'small', smallFoo()), 'upserted');
    // A running bridge has evaluated its expressions before: the first evaluation in a process
    // also compiles the library's code (docs/benchmarks.md has both figures).
    assert.equal(t.ingestor.upsertNow('test', 'warm', joinFoo({ items: 1_000, name: 'warm' })), 'limited');
    const hostile = joinFoo();
    assert.ok(JSON.stringify(hostile).length >= JOIN_FOO_BYTES);
    const before = threadCpuMs();
    const outcome = t.ingestor.upsertNow('test', 'join', hostile);
    const cpuMs = threadCpuMs() - before;
    assert.equal(outcome, 'limited');
    // The whole object event, this thread's CPU time: how long it held the event loop.
    ctx.diagnostic(`the object event took ${cpuMs.toFixed(1)} ms of CPU`);
    // Stopped by its cost (tens of ms) or, on a busy machine, by the 100 ms CPU deadline: either
    // way far from the 47 s the join takes unbounded.
    assert.ok(cpuMs < 150, `the object held the event loop for ${cpuMs.toFixed(1)} ms of CPU`);
    assert.deepEqual(t.kinds(), { 'limit-cel-cost': 2 });
    const [summary] = t.errors.summaries();
    assert.equal(summary!.metric, '*');
    assert.equal(summary!.exampleObject.name, 'warm');
    // The warm-up is the process's first evaluation (the library's code still compiling): a busy
    // machine can reach the CPU deadline before the cost limit.
    assert.match(
      summary!.exampleMessage,
      /object\.spec\.items\.filter.* (costs more than 100000 \(limits\.celCost\)|ran for more than 100 ms of CPU time)/,
    );
    const text = t.text();
    assert.doesNotMatch(text, /name="join"/);
    assert.match(text, /^foo_items\{.*name="small".*\} 3$/m);
    assert.match(text, /^foo_satisfied_dependencies\{.*name="small".*\} 0$/m);
    assert.match(text, /^foo_ready\{.*name="small".*\} 1$/m);
  });

  it('charges one per node, each list a comprehension iterates, and each turn its nodes: exactly', () => {
    // 9 nodes outside the loop, the range (n), and 10 per turn (the turn, `!__result__` under
    // @not_strictly_false, and `__result__ || y.id == "none"`): 9 + 11n.
    const none = 'object.spec.items.exists(y, y.id == "none") ? 1 : 0';
    for (const n of [0, 1, 10, 100]) {
      const cost = 9 + 11 * n;
      assert.deepEqual(evaluate(none, listFoo(n), { costLimit: cost }), { kind: 'number', value: 0 });
      assert.ok(evaluate(none, listFoo(n), { costLimit: cost - 1 }) instanceof LimitExceeded, `n=${n}`);
    }
    // exists stops at the first match: the range, then two turns (the second one's condition ends it).
    const first = 'object.spec.items.exists(y, y.id == "i0") ? 1 : 0';
    assert.deepEqual(evaluate(first, listFoo(100), { costLimit: 9 + 100 + 20 }), {
      kind: 'number',
      value: 1,
    });
    assert.ok(evaluate(first, listFoo(100), { costLimit: 9 + 100 + 19 }) instanceof LimitExceeded);
    // `in` scans its list: 8 nodes and the list's length.
    const scan = '"none" in object.spec.ids ? 1 : 0';
    assert.deepEqual(evaluate(scan, listFoo(50), { costLimit: 58 }), { kind: 'number', value: 0 });
    assert.ok(evaluate(scan, listFoo(50), { costLimit: 57 }) instanceof LimitExceeded);
  });

  it('charges a tenth of the length of each string a named function walks, before the call', () => {
    const note = { spec: { note: 'n'.repeat(1_000_000) } };
    const source = 'object.spec.note.lowerAscii() == "x" ? 1 : 0';
    // 9 nodes and 100,000 for the string.
    assert.deepEqual(evaluate(source, note, { costLimit: 100_009 }), { kind: 'number', value: 0 });
    const before = threadCpuMs();
    const over = evaluate(source, note, { costLimit: 100_008 });
    assert.ok(over instanceof LimitExceeded);
    // Refused before lowerAscii walks the megabyte, which takes tens of milliseconds.
    assert.ok(threadCpuMs() - before < 10);
  });

  it('an expression that swallows the budget error still fails the object (a || true)', () => {
    const source = 'object.spec.items.exists(y, y.id == "none") || true ? 1 : 0';
    assert.deepEqual(evaluate(source, listFoo(10), { costLimit: 0 }), { kind: 'number', value: 1 });
    assert.ok(evaluate(source, listFoo(1000), { costLimit: 1000 }) instanceof LimitExceeded);
  });

  it('the fast path respects the same budget as the library', () => {
    // 8 nodes, in the fast path's subset.
    const source = 'object.status.phase == "Ready" ? 1 : 0';
    for (const fastPath of [true, false]) {
      assert.deepEqual(evaluate(source, listFoo(1), { costLimit: 8, fastPath }), {
        kind: 'number',
        value: 1,
      });
      const over = evaluate(source, listFoo(1), { costLimit: 7, fastPath });
      assert.ok(over instanceof LimitExceeded, `fastPath=${fastPath}`);
      assert.equal(over.kind, 'limit-cel-cost');
    }
  });

  it('stops work the count cannot see at the CPU-time deadline', (t) => {
    // Deep equality of two 200-element lists in every turn: 5,000 turns of about 12 units each
    // stay within the budget, but the comparisons take a second or more.
    const items = Array.from({ length: 5_000 }, (_, i) => ({ id: `item-${i}`, dep: `none-${i}` }));
    const some = items.slice(0, 200);
    const object = { spec: { items, some, copy: some.map((x) => ({ ...x })) } };
    const source = 'size(object.spec.items.filter(x, object.spec.some == object.spec.copy))';
    // Warm, as in a running bridge: a few turns complete (a cold first run on a busy machine can
    // itself take tens of milliseconds, so the warm-up stays small).
    const small = { spec: { ...object.spec, items: items.slice(0, 10) } };
    for (let i = 0; i < 3; i++) assert.deepEqual(evaluate(source, small), { kind: 'number', value: 10 });
    const before = threadCpuMs();
    const over = evaluate(source, object);
    const cpuMs = threadCpuMs() - before;
    assert.ok(over instanceof LimitExceeded);
    assert.match(over.message, /ran for more than 100 ms of CPU time/);
    // The deadline, the few turns (a comparison each) before the first look at the CPU clock, and
    // the conversion of the lists.
    t.diagnostic(`stopped after ${cpuMs.toFixed(1)} ms of CPU`);
    // Without the deadline the evaluation runs for a second or more; the margin is for a busy CI.
    assert.ok(cpuMs < 300, `${cpuMs.toFixed(1)} ms of CPU`);
  });

  it('celCost 0 is unlimited', () => {
    const t = setup(celJoinConfig(), { celCost: 0 });
    assert.equal(t.ingestor.upsertNow('test', 'j', joinFoo({ items: 200 })), 'upserted');
    assert.match(t.text(), /^foo_satisfied_dependencies\{.*name="join".*\} 0$/m);
    // Low enough for 200 items, high enough to pass `check` (the join costs 1,357 for lists of 10).
    const tight = setup(celJoinConfig(), { celCost: 2000 });
    assert.equal(tight.ingestor.upsertNow('test', 'j', joinFoo({ items: 200 })), 'limited');
  });

  it('instrumented expressions keep their results: namespaced functions, methods on self, macros', () => {
    const object = { metadata: { name: 'a"b' }, spec: { items: [{ id: 'x' }, { id: 'y' }] } };
    assert.deepEqual(evaluate('strings.quote(object.metadata.name)', object), {
      kind: 'string',
      value: '"a\\"b"',
    });
    assert.deepEqual(evaluate('object.metadata.name.upperAscii()', object), { kind: 'string', value: 'A"B' });
    assert.deepEqual(evaluate('object.spec.items.map(i, i.id).join(",")', object), {
      kind: 'string',
      value: 'x,y',
    });
    assert.deepEqual(evaluate('object.spec.items.all(i, i.id.size() == 1)', object), {
      kind: 'bool',
      value: true,
    });
    assert.deepEqual(evaluate('object.spec.items.exists_one(i, i.id in ["y", "z"])', object), {
      kind: 'bool',
      value: true,
    });
    assert.deepEqual(evaluate('{"a": 1, "b": 2}.filter(k, k != "a").size()', object), {
      kind: 'number',
      value: 1,
    });
  });
});

describe('the meter’s deadline (fake clocks)', () => {
  /** Charges 1 until the meter stops; returns how many charges it took (or `max`). */
  function run(clocks: MeterClocks, tick: (i: number) => void, max = 100_000): number {
    const meter = new CostMeter(clocks);
    meter.begin(1_000_000, 0);
    meter.startLoop();
    for (let i = 0; i < max; i++) {
      tick(i);
      try {
        meter.charge(1);
      } catch {
        return i;
      }
    }
    return max;
  }

  it('stops an evaluation at 100 ms of CPU time, a few charges late at most', () => {
    let now = 0;
    const clocks = { wall: () => now, cpu: () => now };
    // A millisecond of CPU per turn.
    const stoppedAt = run(clocks, () => (now += 1));
    assert.ok(stoppedAt >= 99 && stoppedAt <= 105, `stopped after ${stoppedAt} ms`);
    // With 4 ms turns, the first look at the clock comes after 4 of them, 16 ms: counted as 5.
    now = 0;
    const late = run(clocks, () => (now += 4));
    assert.ok(late >= 27 && late <= 29, `stopped after ${late * 4} ms`);
  });

  it('does not count time the thread was preempted (wall time far ahead of CPU time)', () => {
    let wall = 0;
    let cpu = 0;
    const clocks = { wall: () => wall, cpu: () => cpu };
    // 300 ms off the CPU early on, then 0.1 ms of CPU per turn: 1,000 turns are 100 ms of CPU.
    const stoppedAt = run(clocks, (i) => {
      if (i === 2) wall += 300;
      wall += 0.1;
      cpu += 0.1;
    });
    // (The CPU time before the first read of the CPU clock counts as up to 5 ms.)
    assert.ok(stoppedAt >= 950 && stoppedAt <= 1_010, `stopped after ${stoppedAt} turns`);
    // And a thread preempted all along, using little CPU, is never stopped.
    wall = 0;
    cpu = 0;
    assert.equal(
      run(
        clocks,
        () => {
          wall += 10;
          cpu += 0.01;
        },
        5_000,
      ),
      5_000,
    );
  });

  it('stops at the cost limit exactly, and again at every later charge', () => {
    const meter = new CostMeter();
    meter.begin(10, 4);
    meter.charge(6);
    assert.equal(meter.exceeded, undefined);
    assert.throws(() => meter.charge(1));
    assert.equal(meter.exceeded, 'cost');
    assert.throws(() => meter.charge(0));
    meter.begin(0, 4);
    meter.charge(1e12);
    assert.equal(meter.exceeded, undefined, '0 is unlimited');
  });
});

describe('CEL cost estimate at compile time (check)', () => {
  const withExpression = (expression: string, limits = '') =>
    celJoinConfig(limits).replace(
      'valueExpression: \'object.status.phase == "Ready" ? 1 : 0\'',
      `valueExpression: '${expression}'`,
    );

  it('warns about the quadratic join, with its place, and not about a single loop', () => {
    const config = compileConfig(parseConfig(celJoinConfig(), 'foo.yaml'));
    assert.equal(config.warnings.length, 1);
    const [warning] = config.warnings;
    assert.equal(warning!.location.line, 21);
    assert.match(
      warning!.message,
      /cost grows as n\^2 .* over limits\.celCost \(100000\); objects with lists longer than about \d+ elements will fail/,
    );
    const single = compileConfig(
      parseConfig(withExpression('object.spec.items.exists(x, x.dep == "a") ? 1 : 0'), 'foo.yaml'),
    );
    assert.equal(single.warnings.length, 1, 'only the join');
  });

  it('a configurable hard limit: an expression over the budget even for lists of 10 is an error with its place', () => {
    const nested =
      'size(object.a.filter(w, object.a.exists(x, object.a.exists(y, object.a.exists(z, z == w)))))';
    assert.throws(
      () => compileConfig(parseConfig(withExpression(nested), 'foo.yaml')),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0]!.location.line === 27 &&
        /costs \d+ for an object whose lists have 10 elements, over limits\.celCost \(100000\)/.test(
          err.problems[0]!.message,
        ),
    );
    // A resource's own budget moves both lines: raised, the error becomes a warning (and the join
    // fits); 0, nothing is checked.
    const raised = compileConfig(parseConfig(withExpression(nested, '{ celCost: 1000000000 }'), 'foo.yaml'));
    assert.deepEqual(
      raised.warnings.map((w) => [w.location.line, /grows as n\^4/.test(w.message)]),
      [[28, true]],
    );
    assert.deepEqual(
      compileConfig(parseConfig(withExpression(nested, '{ celCost: 0 }'), 'foo.yaml')).warnings,
      [],
    );
    // And the flag value does too, for every resource.
    assert.throws(
      () => compileConfig(parseConfig(celJoinConfig(), 'foo.yaml'), { limits: { celCost: 100 } }),
      ConfigError,
    );
  });

  it('check prints the warning with file:line and exits 0; an error exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cel-cost-'));
    writeJoinFixture(dir, 1_000);
    const ok = await runCli(['check', '--config', join(dir, 'config.yaml')]);
    assert.equal(ok.code, 0);
    assert.match(ok.stderr, /^warning: .*config\.yaml:21:\d+: .*cost grows as n\^2/m);
    writeFileSync(join(dir, 'config.yaml'), celJoinConfig('{ celCost: 1000 }'));
    const failed = await runCli(['check', '--config', join(dir, 'config.yaml')]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^error: .*config\.yaml:22:\d+: .*over limits\.celCost \(1000\)/m);
  });

  it('render with --limits.cel-cost drops the object and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cel-cost-'));
    writeJoinFixture(dir, 20_000);
    const config = join(dir, 'config.yaml');
    const objects = join(dir, 'objects');
    const dropped = await runCli(['render', '--limits.cel-cost', '5000', '--config', config, objects]);
    assert.equal(dropped.code, 0);
    assert.doesNotMatch(dropped.stdout, /name="join"/);
    assert.match(dropped.stdout, /name="small"/);
    assert.match(dropped.stderr, /dropped object tenant-a\/join .*limits\.celCost/);
    const kept = await runCli(['render', '--limits.cel-cost', '0', '--config', config, objects]);
    assert.match(kept.stdout, /^foo_satisfied_dependencies\{.*name="join".*\} 0$/m);
  });
});

describe('instrumentation keeps every result (differential, against the bare library)', () => {
  const require = createRequire(import.meta.url);
  const cel = require('@bufbuild/cel') as typeof CelLibrary;
  const { strings } = require('@bufbuild/cel/ext') as typeof CelExtensions;
  const bare = cel.celEnv({ funcs: strings });

  /** The library without the hooks, its result reduced as CelExpression reduces it. */
  function uninstrumented(source: string, value: unknown): CelOutcome | string {
    const conversions = new CelConversionCache();
    const program = cel.plan(bare, cel.parse(source)) as (vars: Record<string, unknown>) => unknown;
    const result = program({
      object: conversions.convert(value),
      self: conversions.convert(value),
    });
    if (cel.isCelError(result)) return result.message;
    if (typeof result === 'bigint') return { kind: 'number', value: Number(result) };
    if (typeof result === 'number') return { kind: 'number', value: result };
    if (typeof result === 'string') return { kind: 'string', value: result };
    if (typeof result === 'boolean') return { kind: 'bool', value: result };
    if (result === null) return { kind: 'null' };
    const proto = result as { message?: { seconds?: bigint; nanos?: number } };
    if (proto.message?.seconds !== undefined)
      return { kind: 'number', value: Number(proto.message.seconds) + (proto.message.nanos ?? 0) / 1e9 };
    return 'list or map';
  }

  function instrumented(source: string, value: unknown): CelOutcome | string {
    try {
      return new CelExpression(source, { fastPath: false, costLimit: 0 }).evaluate(
        value,
        value,
        new CelConversionCache(),
      );
    } catch (err) {
      const message = (err as Error).message;
      return /expected a number, string or bool/.test(message) ? 'list or map' : message;
    }
  }

  const TEMPLATES = [
    'object.items.exists(x, x.id == object.name)',
    'object.items.all(x, has(x.id))',
    'object.items.exists_one(x, x.id.startsWith("a"))',
    'size(object.items.filter(x, x.id in object.ids))',
    'object.items.map(x, x.id.lowerAscii()).join("-")',
    'object.items.map(x, x.id, x.id + "!").size()',
    'object.ids.filter(i, i.contains(object.name)).size() > 0',
    'object.ids.exists(i, object.items.exists(x, x.id == i))',
    'object.labels.exists(k, k.matches("^a.*"))',
    'object.labels.filter(k, object.labels[k] == object.name).size()',
    '"x" in object.labels ? object.labels["x"] : "none"',
    'object.name.split("a").size()',
    'object.name.replace("a", "b").upperAscii()',
    'object.name.indexOf("b") + object.name.lastIndexOf("a")',
    'object.name.substring(0, 1) + object.name.trim()',
    'strings.quote(object.name)',
    'string(object.count) + object.name.charAt(0)',
    'int(object.num) + object.count',
    'double(object.num) * 2.0',
    'timestamp(object.when).getHours()',
    'timestamp(object.when) - timestamp("2026-01-01T00:00:00Z")',
    'duration("90s").getSeconds() + object.count',
    'string(timestamp(object.when))',
    '[1, 2, 3].map(n, n * object.count).exists(n, n > 4)',
    '{"a": object.name}.exists(k, k == "a") || object.count > 1',
    'type(object.name) == string',
    'dyn(object.items).size()',
    '"%s has %d".format([object.name, object.count])',
  ];
  const item = fc.record({ id: fc.constantFrom('a1', 'b2', 'ab', 'zz', '') }, { requiredKeys: [] });
  const object = fc.record(
    {
      name: fc.constantFrom('ab', 'ba', '  a ', '', 'x"y'),
      count: fc.integer({ min: -3, max: 3 }),
      num: fc.constantFrom('12', '3.5', 'x', '-7'),
      when: fc.constantFrom('2026-02-09T10:00:00Z', '2026-02-09T23:59:59.5Z', 'bad'),
      items: fc.array(item, { maxLength: 4 }),
      ids: fc.array(fc.constantFrom('a1', 'b2', 'ab', 'q'), { maxLength: 4 }),
      labels: fc.dictionary(fc.constantFrom('a', 'x', 'ab', 'b'), fc.constantFrom('ab', 'v')),
    },
    { requiredKeys: [] },
  );

  it('every template over random objects gives what the library gives without the hooks', () => {
    let values = 0;
    fc.assert(
      fc.property(fc.constantFrom(...TEMPLATES), object, (source, value) => {
        const expected = uninstrumented(source, value);
        if (typeof expected !== 'string') values++;
        assert.deepEqual(instrumented(source, value), expected, `${source} over ${JSON.stringify(value)}`);
      }),
      { numRuns: 1000 },
    );
    assert.ok(values > 250, `only ${values} runs gave a value`);
  });
});
