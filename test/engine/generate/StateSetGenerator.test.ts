import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import { compilePathLabels } from '../../../src/engine/generate/labels.ts';
import { StateSetGenerator } from '../../../src/engine/generate/StateSetGenerator.ts';
import { ExpressionValueSource, PathValueSource } from '../../../src/engine/generate/ValueSource.ts';
import { ValuePath } from '../../../src/engine/generate/ValuePath.ts';
import { eachContext, lines } from './eachContext.ts';

const list = ['Pending', 'Running', 'Failed'];

function stateSet(
  value = new PathValueSource(new ValuePath(['phase'])) as PathValueSource | ExpressionValueSource,
) {
  return new StateSetGenerator({
    path: new ValuePath(['status']),
    value,
    labelsFromPath: compilePathLabels([{ name: 'owner', path: new ValuePath(['owner']) }]),
    labelsFromExpression: [],
    labelName: 'phase',
    list,
  });
}

function run(generator: StateSetGenerator, target: unknown) {
  const context = eachContext({ status: target });
  return { series: lines(generator.values(target, context)), errors: context.reported };
}

describe('StateSetGenerator', () => {
  it('one series per list entry, 1 where the state equals it (case-sensitive), element labels added', () => {
    assert.deepEqual(run(stateSet(), { phase: 'Running', owner: 'me' }), {
      series: ['phase=Pending,owner=me 0', 'phase=Running,owner=me 1', 'phase=Failed,owner=me 0'],
      errors: [],
    });
    assert.deepEqual(run(stateSet(), { phase: 'running' }).series, [
      'phase=Pending 0',
      'phase=Running 0',
      'phase=Failed 0',
    ]);
  });

  it('a state outside the list gives all zeros, not an error (KSM)', () => {
    assert.deepEqual(run(stateSet(), { phase: 'Unknown' }), {
      series: ['phase=Pending 0', 'phase=Running 0', 'phase=Failed 0'],
      errors: [],
    });
  });

  it('a missing state gives no series and no error; a state that is not a string is an error', () => {
    assert.deepEqual(run(stateSet(), {}), { series: [], errors: [] });
    assert.deepEqual(run(stateSet(), null), { series: [], errors: [] });
    assert.deepEqual(run(stateSet(), { phase: 3 }), {
      series: [],
      errors: ['not-a-string: [status]: expected value for path to be string, got int64'],
    });
    // Go's names for the decoded JSON types, as an unstructured object holds them.
    assert.deepEqual(run(stateSet(), { phase: 3.5 }).errors, [
      'not-a-string: [status]: expected value for path to be string, got float64',
    ]);
  });

  it('a list gives the set for each element', () => {
    assert.deepEqual(
      run(stateSet(), [
        { phase: 'Failed', owner: 'a' },
        { phase: 'Pending', owner: 'b' },
      ]).series,
      [
        'phase=Pending,owner=a 0',
        'phase=Running,owner=a 0',
        'phase=Failed,owner=a 1',
        'phase=Pending,owner=b 1',
        'phase=Running,owner=b 0',
        'phase=Failed,owner=b 0',
      ],
    );
  });

  it('a state from CEL; a failing expression is a cel error', () => {
    const fromCel = stateSet(
      new ExpressionValueSource(new CelExpression('self.ready ? "Running" : "Pending"')),
    );
    assert.deepEqual(run(fromCel, { ready: true }).series, [
      'phase=Pending 0',
      'phase=Running 1',
      'phase=Failed 0',
    ]);
    const { series, errors } = run(fromCel, { ready: 'yes' });
    assert.deepEqual(series, []);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^cel: \[status\]: self\.ready \? "Running" : "Pending": /);
  });
});
