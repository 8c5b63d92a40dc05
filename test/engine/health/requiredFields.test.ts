// requiredFields decides when a rule can skip its CEL evaluation: a field it needs is absent.
// That must never change a verdict: on random expressions and objects, whenever a needed field
// is absent, the library must not find the expression true (forTrue) or get a value (forValue).
// FC_SEED / FC_RUNS reproduce or widen a run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CelConversionCache, CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import { fieldsPresent, requiredFields } from '../../../src/engine/health/requiredFields.ts';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const RUNS = Number(process.env.FC_RUNS ?? 1);
const params = { numRuns: 1500 * RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

const FIELDS = ['a', 'b', 'phase'];

const path = fc
  .tuple(
    fc.constantFrom('object', 'self'),
    fc.array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 3 }),
  )
  .map(([root, fields]) => [root, ...fields].join('.'));
const literal = fc.constantFrom('"x"', '"Running"', '1', '2', 'true', 'false', 'null', '[]', '["x"]');

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    path,
    literal,
    path.map((p) => `has(${p})`),
    fc
      .tuple(tie('e'), fc.constantFrom('==', '!=', '<', '&&', '||', '+', 'in'), tie('e'))
      .map(([l, op, r]) => `(${l} ${op} ${r})`),
    tie('e').map((e) => `!(${e})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
    tie('e').map((e) => `size(${e})`),
    tie('e').map((e) => `string(${e}).lowerAscii()`),
    fc.tuple(path, tie('e')).map(([p, e]) => `${p}.exists(x, ${e.replaceAll('self.', 'x.')})`),
    fc.tuple(path, tie('e')).map(([p, e]) => `${p}.all(x, x == ${e})`),
  ),
})).e;

const json: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('x', 'Running', 1, 2, true, false, null),
    fc.array(tie('v'), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom(...FIELDS), tie('v'), { maxKeys: 3 }),
  ),
})).v;
const object = fc.dictionary(fc.constantFrom(...FIELDS), json, { maxKeys: 3 });

function evaluate(source: string, obj: unknown, self: unknown): 'true' | 'value' | 'error' {
  try {
    const outcome = new CelExpression(source).evaluate(obj, self, new CelConversionCache());
    return outcome.kind === 'bool' && outcome.value ? 'true' : 'value';
  } catch {
    return 'error';
  }
}

describe('requiredFields', () => {
  it('skipping never changes the outcome (random expressions and objects)', () => {
    let skipped = 0;
    fc.assert(
      fc.property(expr, object, object, (source, obj, self) => {
        let needs: ReturnType<typeof requiredFields>;
        try {
          needs = requiredFields(source);
          new CelExpression(source);
        } catch {
          return; // Not valid CEL: a rule document would not compile.
        }
        const outcome = evaluate(source, obj, self);
        if (!fieldsPresent(needs.forTrue, obj, self)) {
          skipped++;
          assert.notEqual(outcome, 'true', `${source} on ${JSON.stringify({ obj, self })}`);
        }
        if (!fieldsPresent(needs.forValue, obj, self))
          assert.equal(outcome, 'error', `${source} on ${JSON.stringify({ obj, self })}`);
      }),
      params,
    );
    assert.ok(skipped > params.numRuns / 10, `skipped ${skipped} of ${params.numRuns}`);
  });

  it('finds what the everyday rule shapes need', () => {
    const needs = (source: string) => requiredFields(source).forTrue.map((p) => p.join('.'));
    assert.deepEqual(needs('object.spec.suspend == true'), ['object.spec.suspend']);
    assert.deepEqual(needs('has(object.status.phase) && self.status == "True"'), [
      'object.status.phase',
      'self.status',
    ]);
    assert.deepEqual(needs('object.status.a == 1 || object.status.b == 2'), ['object.status']);
    assert.deepEqual(needs('!has(object.status)'), []);
    assert.deepEqual(needs('object.status.conditions.exists(c, c.type == "Ready")'), [
      'object.status.conditions',
    ]);
    assert.deepEqual(needs('has(object.status.x) ? object.status.x == 1 : object.status.y == 1'), [
      'object.status',
    ]);
    assert.deepEqual(requiredFields('has(object.status.phase) ? object.status.phase : "none"').forValue, [
      ['object', 'status'],
    ]);
  });

  it('a field holding null is present; a list or a scalar on the way is not a mapping', () => {
    assert.equal(fieldsPresent([['object', 'status', 'phase']], { status: { phase: null } }, {}), true);
    assert.equal(fieldsPresent([['object', 'status', 'phase']], { status: [{ phase: 1 }] }, {}), false);
    assert.equal(fieldsPresent([['object', 'status', 'phase']], { status: 'phase' }, {}), false);
    assert.equal(fieldsPresent([['self', 'status']], {}, { status: 'True' }), true);
  });
});
