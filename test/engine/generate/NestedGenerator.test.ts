import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelExpression } from '../../../src/engine/cel/CelExpression.ts';
import { GaugeGenerator } from '../../../src/engine/generate/GaugeGenerator.ts';
import { compilePathLabels } from '../../../src/engine/generate/labels.ts';
import { NestedGenerator } from '../../../src/engine/generate/NestedGenerator.ts';
import { ExpressionValueSource } from '../../../src/engine/generate/ValueSource.ts';
import { ValuePath } from '../../../src/engine/generate/ValuePath.ts';
import { eachContext, lines } from './eachContext.ts';

// A Gateway API route's status.parents[*].conditions[*]: one series per condition of each parent,
// with the parent's labels carried down.
const conditionGauge = new GaugeGenerator({
  path: new ValuePath([]),
  value: new ExpressionValueSource(new CelExpression('self.status == "True" ? 1 : 0')),
  labelsFromPath: compilePathLabels([
    { name: 'type', path: new ValuePath(['type']) },
    { name: 'gateway', path: new ValuePath(['own']) },
  ]),
  labelsFromExpression: [],
  labelFromKey: '',
  nilIsZero: false,
});
const parents = new NestedGenerator(
  '[status,parents]',
  {
    labelsFromPath: compilePathLabels([{ name: 'gateway', path: new ValuePath(['parentRef', 'name']) }]),
    labelsFromExpression: [],
    innerPath: new ValuePath(['conditions']),
  },
  conditionGauge,
);

function run(target: unknown) {
  const context = eachContext({ status: { parents: target } });
  return { series: lines(parents.values(target, context)), budget: context.budget.series };
}

describe('NestedGenerator', () => {
  it("gives the inner series of each element, with the element's labels after the inner ones", () => {
    const target = [
      {
        parentRef: { name: 'gw-a' },
        conditions: [
          { type: 'Accepted', status: 'True' },
          { type: 'ResolvedRefs', status: 'False' },
        ],
      },
      { parentRef: { name: 'gw-b' }, conditions: [{ type: 'Accepted', status: 'True' }] },
    ];
    assert.deepEqual(run(target).series, [
      'type=Accepted,gateway=gw-a 1',
      'type=ResolvedRefs,gateway=gw-a 0',
      'type=Accepted,gateway=gw-b 1',
    ]);
  });

  it('a label the inner series has itself wins over the carried one', () => {
    const target = [
      { parentRef: { name: 'gw-a' }, conditions: [{ type: 'Accepted', status: 'True', own: 'mine' }] },
    ];
    assert.deepEqual(run(target).series, ['type=Accepted,gateway=mine 1']);
  });

  it('a single element that is not a list is one element; nil elements and a nil target give nothing', () => {
    assert.deepEqual(
      run({ parentRef: { name: 'solo' }, conditions: [{ type: 'A', status: 'True' }] }).series,
      ['type=A,gateway=solo 1'],
    );
    assert.deepEqual(run([null, { parentRef: { name: 'x' } }]).series, []);
    assert.deepEqual(run(undefined).series, []);
  });

  it('every series is accounted in the budget once', () => {
    const target = Array.from({ length: 3 }, (_, i) => ({
      parentRef: { name: `gw-${i}` },
      conditions: [
        { type: 'A', status: 'True' },
        { type: 'B', status: 'False' },
      ],
    }));
    const { series, budget } = run(target);
    assert.equal(series.length, 6);
    assert.equal(budget, 6);
  });
});
