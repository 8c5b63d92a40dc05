import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelConversionCache, CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import { GoFloat64 } from '../../../src/go/GoFloat64.ts';

const object = {
  metadata: { name: 'b', labels: { app: 'x', tier: 'db' }, annotations: {} },
  spec: {
    replicas: 3,
    ratio: 0.5,
    whole: new GoFloat64(2),
    nested: { list: [{ n: 1 }, { n: 2 }] },
    gone: null,
  },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
};

function evaluate(source: string, self: unknown = object): unknown {
  const outcome = new CelExpression(source).evaluate(object, self, new CelConversionCache());
  return outcome.kind === 'null' ? null : outcome.value;
}

describe('CEL over objects converted on access', () => {
  it('reads fields, presence, sizes and membership of maps', () => {
    assert.equal(evaluate('object.metadata.name'), 'b');
    assert.equal(evaluate('has(object.spec.replicas)'), true);
    assert.equal(evaluate('has(object.spec.nothere)'), false);
    assert.equal(evaluate('has(object.spec.gone)'), false, 'a null field is absent, as before');
    assert.equal(evaluate('size(object.metadata.labels)'), 2);
    assert.equal(evaluate('size(object.metadata.annotations)'), 0);
    assert.equal(evaluate('"tier" in object.metadata.labels'), true);
    assert.equal(evaluate('"nope" in object.metadata.labels'), false);
  });

  it('keeps CEL types: integers are int, fractions double, Go floats double', () => {
    assert.equal(evaluate('type(object.spec.replicas) == int'), true);
    assert.equal(evaluate('type(object.spec.ratio) == double'), true);
    assert.equal(evaluate('type(object.spec.whole) == double'), true);
    assert.equal(evaluate('object.spec.replicas * 2'), 6);
  });

  it('iterates maps and lists (macros) and compares maps by value', () => {
    assert.equal(evaluate('object.metadata.labels.all(k, k.size() > 2)'), true);
    assert.equal(evaluate('object.metadata.labels.exists(k, object.metadata.labels[k] == "db")'), true);
    assert.equal(evaluate('object.spec.nested.list.map(i, i.n).exists(n, n == 2)'), true);
    assert.equal(
      evaluate('object.status.conditions.exists(c, c.type == "Ready" && c.status == "True")'),
      true,
    );
    assert.equal(evaluate('object.metadata.labels == {"app": "x", "tier": "db"}'), true);
    assert.equal(evaluate('object.metadata.labels == {"app": "x"}'), false);
    assert.equal(evaluate('self.n + 1', { n: 41 }), 42);
  });

  it('reports a missing key as an evaluation error', () => {
    assert.throws(() => evaluate('object.spec.nothere + 1'), /field not found: nothere/);
  });
});
