// The CEL fast path (src/engine/cel/CelFastPath.ts) against @bufbuild/cel itself: random
// expressions of the subset, and a few beyond it, over random objects. Wherever the fast path
// answers instead of deferring, its answer must be the library's; whatever it defers is the
// library's by construction. FC_SEED / FC_RUNS reproduce or widen a run.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type * as CelLibrary from '@bufbuild/cel';
import { CelConversionCache, CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import type { CelOutcome } from '../../../src/engine/cel/CelExpression.ts';
import { compileFastPath, DEFER } from '../../../src/engine/cel/CelFastPath.ts';
import { GoFloat64 } from '../../../src/go/GoFloat64.ts';

const cel = createRequire(import.meta.url)('@bufbuild/cel') as typeof CelLibrary;
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const RUNS = Number(process.env.FC_RUNS ?? 1);
const params = { numRuns: 3000 * RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

const FIELDS = ['a', 'b', 'phase', 'start', 'end'];
const timestamps = [
  '2026-02-09T10:00:00Z',
  '2026-02-09T10:05:00.5Z',
  '2026-02-09T10:05:00.123456789Z',
  '2026-02-09T10:05:00.1234Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999Z',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59.25Z',
  '2024-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2100-02-29T12:00:00Z',
  '2400-02-29T00:00:00.5Z',
  '2023-02-29T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-02-09T24:00:00Z',
  '2026-02-09T10:00:60Z',
  '2026-02-09t10:00:00z',
  '2026-02-09T10:00:00+01:00',
  '2026-02-09T10:00:00.Z',
  '2026-02-09T10:00:00.1234567890Z',
  '0000-01-01T00:00:00Z',
  '2026-02-09',
];
const scalar = fc.oneof(
  fc.constantFrom('Completed', 'Failed', '', 'é', '\u{1F600}', ...timestamps),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e21, 9007199254740993),
  fc.double({ noNaN: true }),
  fc.double({ min: -1000, max: 1000, noNaN: true }).map((v) => new GoFloat64(Math.round(v))),
  fc.boolean(),
  fc.constant(null),
);
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom(...FIELDS), tie('value'), { maxKeys: 4 }),
  ),
}));
// Mostly present fields of the expected kinds (so the fast path gets to answer), sometimes not.
const field = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 1, arbitrary: jsonValue },
  { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), scalar, { minKeys: 2, maxKeys: 5 }) },
);
const typed = fc.record(
  {
    a: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double({ min: -100, max: 100, noNaN: true })),
    b: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double({ min: -100, max: 100, noNaN: true })),
    phase: fc.constantFrom('Completed', 'Failed', 'x'),
    start: fc.constantFrom(...timestamps),
    end: fc.constantFrom(...timestamps),
  },
  { requiredKeys: [] },
);
const object = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), field, { minKeys: 2, maxKeys: 5 }),
  typed,
  fc.tuple(typed, typed).map(([top, nested]) => ({ ...top, a: nested, b: nested })),
);

const path = fc
  .tuple(fc.constantFrom('object', 'self'), fc.array(fc.constantFrom(...FIELDS), { maxLength: 2 }))
  .map(([root, fields]) => [root, ...fields].join('.'));
const literal = fc.oneof(
  fc.constantFrom('"Completed"', '""', 'true', 'false', 'null', '0', '1', '-1', '1.0', '0.5', '-0.0'),
  fc.constantFrom('9007199254740991', '9007199254740992', '1u', '"2026-02-09T10:00:00Z"'),
  fc.integer({ min: -5, max: 5 }).map(String),
);
const { expr } = fc.letrec<{ atom: string; expr: string }>((tie) => ({
  atom: fc.oneof(
    path,
    literal,
    path.filter((p) => p.includes('.')).map((p) => `has(${p})`),
    path.map((p) => `timestamp(${p})`),
    literal.map((l) => `timestamp(${l})`),
  ),
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc
      .tuple(
        tie('expr'),
        fc.constantFrom('==', '!=', '&&', '||', '<', '<=', '>', '>=', '+', '-', '*'),
        tie('expr'),
      )
      .map(([a, op, b]) => `(${String(a)} ${op} ${String(b)})`),
    tie('expr').map((e) => `!${String(e)}`),
    fc
      .tuple(tie('expr'), tie('expr'), tie('expr'))
      .map(([c, t, f]) => `(${String(c)} ? ${String(t)} : ${String(f)})`),
    // Beyond the subset: the whole expression goes to the library.
    tie('atom').map((a) => `size(${String(a)})`),
    tie('atom').map((a) => `string(${String(a)})`),
  ),
}));

// Expressions shaped like real configs' (presence checks guarding a comparison or arithmetic).
const fieldPath = fc
  .array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 2 })
  .map((fields) => ['object', ...fields].join('.'));
const guarded = fc
  .tuple(
    fieldPath,
    fieldPath,
    fc.constantFrom(
      (p: string) => `has(${p}) && ${p} == "Completed" ? 1 : 0`,
      (p: string) => `has(${p}) ? ${p} : null`,
      (p: string, q: string) => `has(${p}) && has(${q}) ? timestamp(${p}) - timestamp(${q}) : null`,
      (p: string) => `timestamp(${p})`,
      (p: string, q: string) => `${p} > ${q}`,
      (p: string, q: string) => `${p} * 2 + ${q}`,
      (p: string, q: string) => `${p} == ${q} || !has(${q})`,
      (p: string, q: string) => `(${p} - ${q}) <= 0.5`,
      (p: string, q: string) => `${p} != "x" && ${q}`,
      (p: string, q: string) => `${p} + ${q}`,
    ),
  )
  .map(([p, q, template]) => template(p, q));

/** The library's answer, with the fast path off: an outcome, or the error message. */
function library(source: string, value: unknown): CelOutcome | string {
  try {
    return new CelExpression(source, { fastPath: false }).evaluate(value, value, new CelConversionCache());
  } catch (err) {
    return (err as Error).message;
  }
}

function parses(source: string): boolean {
  try {
    cel.parse(source);
    return true;
  } catch {
    return false;
  }
}

describe('CEL fast path', () => {
  it('answers the examples directly, as the library does', () => {
    const backup = {
      status: { phase: 'Completed', startTime: '2026-02-09T10:00:00Z', endTime: '2026-02-09T10:05:00.5Z' },
    };
    const cases: [string, unknown][] = [
      ['has(object.status) && has(object.status.phase) && object.status.phase == "Completed" ? 1 : 0', 1],
      [
        'has(object.status) && has(object.status.startTime) && has(object.status.endTime) ? timestamp(object.status.endTime) - timestamp(object.status.startTime) : null',
        300.5,
      ],
      ['has(object.spec) ? 1 : 0', 0],
      ['timestamp(object.status.startTime)', 1770631200],
    ];
    for (const [source, expected] of cases) {
      const fast = compileFastPath(cel.parse(source).expr);
      assert.ok(fast, `${source} is in the subset`);
      const outcome = fast(backup, backup);
      if (outcome === DEFER) assert.fail(`${source} deferred`);
      assert.deepEqual(outcome, library(source, backup), source);
      assert.equal(outcome.kind === 'number' ? outcome.value : undefined, expected);
    }
  });

  it('defers what it does not decide: missing fields, null fields, type mismatches', () => {
    const value = { spec: { gone: null, n: 1, s: 'x', list: [1] } };
    for (const source of [
      'object.spec.missing',
      'has(object.spec.gone)',
      'object.spec.n == "1"',
      'object.spec.n + 0.5',
      'object.spec.list',
      'timestamp(object.spec.s)',
      'object.spec.s < "y"',
    ]) {
      const fast = compileFastPath(cel.parse(source).expr);
      assert.ok(fast, source);
      assert.equal(fast(value, value), DEFER, source);
    }
    for (const source of [
      'size(object.spec)',
      'object.spec.s.startsWith("x")',
      'object.spec.n / 2',
      '1u == 1u',
    ])
      assert.equal(compileFastPath(cel.parse(source).expr), undefined, `${source} is outside the subset`);
  });

  it('reads any RFC 3339 UTC timestamp as the library does (random dates 0001–9999, fractions)', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const stamp = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.option(fc.stringMatching(/^[0-9]{1,10}$/)),
      )
      .map(
        ([y, mo, d, h, mi, s, fraction]) =>
          `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction === null ? '' : `.${fraction}`}Z`,
      );
    let answered = 0;
    fc.assert(
      fc.property(stamp, stamp, (end, start) => {
        const value = { end, start };
        for (const source of ['timestamp(object.end)', 'timestamp(object.end) - timestamp(object.start)']) {
          const outcome = compileFastPath(cel.parse(source).expr)!(value, value);
          if (outcome === DEFER) continue;
          answered++;
          assert.deepEqual(outcome, library(source, value), `${source} over ${JSON.stringify(value)}`);
        }
      }),
      params,
    );
    assert.ok(answered > params.numRuns / 2, `the fast path answered ${answered}`);
  });

  it('reads a timestamp with any one character changed, added or removed as the library does', () => {
    // The fast path reads timestamps a character at a time: a stray character anywhere (a letter
    // in a fraction, a slash for a dash, one digit too many) must defer or agree, never misread.
    const chars = fc.constantFrom(...'0123456789:-.TZtz+ /a\u0660\u{1F600}'.split(/(?:)/u));
    const mutated = fc
      .tuple(
        fc.constantFrom(...timestamps.slice(0, 13)),
        fc.nat(),
        chars,
        fc.constantFrom('set', 'insert', 'delete'),
      )
      .map(([stamp, at, c, how]) => {
        const i = at % stamp.length;
        const tail = stamp.slice(how === 'insert' ? i : i + 1);
        return stamp.slice(0, i) + (how === 'delete' ? '' : c) + tail;
      });
    let answered = 0;
    const source = 'timestamp(object.end) - timestamp(object.start)';
    const fast = compileFastPath(cel.parse(source).expr)!;
    fc.assert(
      fc.property(mutated, (end) => {
        const value = { end, start: '2026-02-09T10:00:00Z' };
        const outcome = fast(value, value);
        if (outcome === DEFER) return;
        answered++;
        assert.deepEqual(outcome, library(source, value), `${source} over ${JSON.stringify(value)}`);
      }),
      params,
    );
    assert.ok(answered > params.numRuns / 50, `the fast path answered ${answered}`);
  });

  for (const [name, expressions, share] of [
    ['random expressions', expr, 0.03],
    ['expressions shaped like configs', guarded, 0.1],
  ] as const)
    it(`agrees with @bufbuild/cel wherever it answers (${name}, random objects)`, () => {
      let answered = 0;
      let tried = 0;
      fc.assert(
        fc.property(expressions, object, (source, value) => {
          if (!parses(source)) return;
          tried++;
          const fast = compileFastPath(cel.parse(source).expr);
          const expected = library(source, value);
          const combined = (() => {
            try {
              return new CelExpression(source).evaluate(value, value, new CelConversionCache());
            } catch (err) {
              return (err as Error).message;
            }
          })();
          assert.deepEqual(combined, expected, `${source} over ${JSON.stringify(value)}`);
          if (!fast) return;
          const outcome = fast(value, value);
          if (outcome === DEFER) return;
          answered++;
          assert.deepEqual(outcome, expected, `${source} over ${JSON.stringify(value)}`);
        }),
        params,
      );
      // The test means something only if the fast path answers a fair share itself.
      assert.ok(answered > tried * share, `the fast path answered ${answered} of ${tried}`);
    });
});
