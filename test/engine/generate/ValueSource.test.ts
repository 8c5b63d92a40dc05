import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelConversionCache, CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import {
  ExpressionValueSource,
  PathValueSource,
  ValueSourceError,
} from '../../../src/engine/generate/ValueSource.ts';
import { ValuePath } from '../../../src/engine/generate/ValuePath.ts';

const cel = new CelConversionCache();
const object = { spec: { replicas: 3, name: 'a' }, status: { ready: true } };

describe('ValueSource', () => {
  it('a path reads the element, and says where it reads in messages', () => {
    const source = new PathValueSource(new ValuePath(['replicas']));
    assert.equal(source.kind, 'path');
    assert.equal(source.text, '[replicas]');
    assert.equal(source.read(object.spec), 3);
    assert.equal(source.read({}), undefined);
    assert.equal(source.read(null), undefined);
  });

  it('an expression sees the element as self and the whole object as object', () => {
    const source = new ExpressionValueSource(
      new CelExpression('self.replicas * 2 + (object.status.ready ? 1 : 0)'),
    );
    assert.equal(source.kind, 'expression');
    assert.equal(source.text, 'self.replicas * 2 + (object.status.ready ? 1 : 0)');
    assert.equal(source.read(object.spec, object, cel), 7);
    assert.equal(
      new ExpressionValueSource(new CelExpression('self.name')).read(object.spec, object, cel),
      'a',
    );
  });

  it('a CEL null is no value, as a missing path is', () => {
    assert.equal(
      new ExpressionValueSource(new CelExpression('null')).read(object.spec, object, cel),
      undefined,
    );
  });

  it('a failing expression throws ValueSourceError naming the expression', () => {
    const source = new ExpressionValueSource(new CelExpression('self.missing + 1'));
    assert.throws(
      () => source.read(object.spec, object, cel),
      (err: unknown) => err instanceof ValueSourceError && err.message.startsWith('self.missing + 1: '),
    );
  });
});
