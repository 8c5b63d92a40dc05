import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import { GaugeGenerator } from '../../../src/engine/generate/GaugeGenerator.ts';
import type { GaugeOptions } from '../../../src/engine/generate/GaugeGenerator.ts';
import { compilePathLabels } from '../../../src/engine/generate/labels.ts';
import { ExpressionValueSource, PathValueSource } from '../../../src/engine/generate/ValueSource.ts';
import { ValuePath } from '../../../src/engine/generate/ValuePath.ts';
import { eachContext, lines } from './eachContext.ts';

function gauge(options: Partial<GaugeOptions> & { valueFrom?: string[]; valueExpression?: string }) {
  return new GaugeGenerator({
    path: options.path ?? new ValuePath([]),
    value:
      options.value ??
      (options.valueExpression !== undefined
        ? new ExpressionValueSource(new CelExpression(options.valueExpression))
        : new PathValueSource(new ValuePath(options.valueFrom ?? []))),
    labelsFromPath: options.labelsFromPath ?? compilePathLabels([]),
    labelsFromExpression: options.labelsFromExpression ?? [],
    labelFromKey: options.labelFromKey ?? '',
    nilIsZero: options.nilIsZero ?? false,
  });
}

function run(generator: GaugeGenerator, target: unknown, root: unknown = target) {
  const context = eachContext(root);
  return { series: lines(generator.values(target, context)), errors: context.reported };
}

describe('GaugeGenerator', () => {
  it('one series for a plain value, converted as KSM converts (quantities, booleans, RFC 3339)', () => {
    assert.deepEqual(run(gauge({}), 3).series, [' 3']);
    assert.deepEqual(run(gauge({}), '250m').series, [' 0.25']);
    assert.deepEqual(run(gauge({}), true).series, [' 1']);
    assert.deepEqual(run(gauge({}), '2026-01-01T00:00:00Z').series, [' 1767225600']);
  });

  it('a list gives one series per element, labels read from each element', () => {
    const g = gauge({
      valueFrom: ['size'],
      labelsFromPath: compilePathLabels([{ name: 'disk', path: new ValuePath(['name']) }]),
    });
    const target = [{ name: 'a', size: 1 }, { name: 'b', size: '2Ki' }, { name: 'c' }];
    // An element whose valueFrom does not resolve gives nothing and no error (KSM).
    assert.deepEqual(run(g, target), { series: ['disk=a 1', 'disk=b 2048'], errors: [] });
  });

  it('a map gives one series per entry, keyed by labelFromKey; the valueFrom key itself is a value', () => {
    const g = gauge({ valueFrom: ['ready'], labelFromKey: 'key' });
    const target = { ready: 5, web: { ready: 2 }, db: { ready: 'x' }, other: 'not a map' };
    assert.deepEqual(run(g, target), {
      series: ['key=ready 5', 'key=web 2'],
      errors: ['conversion: []: [db]: [ready]: strconv.ParseFloat: parsing "x": invalid syntax'],
    });
  });

  it('a value that is not a number is reported with the path, and the other elements still give series', () => {
    const g = gauge({ path: new ValuePath(['items']), valueFrom: ['n'] });
    const { series, errors } = run(g, [{ n: 'many' }, { n: 4 }]);
    assert.deepEqual(series, [' 4']);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^conversion: \[items\]: \[0\]: \[n\]: /);
  });

  it('a nil element is an error unless nilIsZero, which makes it 0', () => {
    assert.deepEqual(run(gauge({ path: new ValuePath(['x']) }), null).errors, [
      'nil-value: [x]: got nil while resolving path',
    ]);
    assert.deepEqual(run(gauge({ path: new ValuePath(['x']), nilIsZero: true }), null).series, [' 0']);
    assert.deepEqual(run(gauge({ valueFrom: ['n'], nilIsZero: true }), { m: 1 }).series, [' 0']);
  });

  it('a CEL value takes a map as one element (self), unless labelFromKey asks for entries', () => {
    const object = { spec: { a: 1, b: 2 } };
    const whole = gauge({ path: new ValuePath(['spec']), valueExpression: 'self.a + self.b' });
    assert.deepEqual(run(whole, object.spec, object).series, [' 3']);
    const entries = gauge({ path: new ValuePath(['spec']), valueExpression: 'self * 10', labelFromKey: 'k' });
    assert.deepEqual(run(entries, object.spec, object).series, ['k=a 10', 'k=b 20']);
  });

  it('a failing expression is a cel error for that element only', () => {
    const g = gauge({ valueExpression: 'self.n / self.d' });
    const { series, errors } = run(g, [{ n: 4, d: 2 }, { n: 1 }]);
    assert.deepEqual(series, [' 2']);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^cel: \[\]: \[1\]: self\.n \/ self\.d: /);
  });
});
