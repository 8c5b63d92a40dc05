import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelConversionCache } from '../../../src/engine/cel/CelExpression.ts';
import { ConditionsGenerator } from '../../../src/engine/generate/ConditionsGenerator.ts';
import type { EachContext } from '../../../src/engine/generate/EachGenerator.ts';
import { SeriesBudget } from '../../../src/engine/generate/SeriesBudget.ts';
import { DEFAULT_LIMITS } from '../../../src/engine/limits.ts';

function context(object: unknown): EachContext {
  const budget = new SeriesBudget(DEFAULT_LIMITS);
  budget.startFamily({ index: 0, name: 'f', type: 'gauge', help: '' }, new Map());
  return { root: object, cel: new CelConversionCache(), memo: {}, errors: { report: () => {} }, budget };
}

const object = {
  status: {
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'Synced', status: 'false' },
      { status: 'True' },
      'not a map',
      { type: 'Odd', status: 'Maybe', lastTransitionTime: 'yesterday' },
    ],
  },
};

describe('ConditionsGenerator', () => {
  it('state: three series per typed condition, status lower-cased, unknown statuses all 0', () => {
    const values = new ConditionsGenerator('state').values(object, context(object));
    assert.deepEqual(
      values.map((v) => `${v.labels.get('condition')} ${v.labels.get('status')} ${v.value}`),
      [
        'Ready true 1',
        'Ready false 0',
        'Ready unknown 0',
        'Synced true 0',
        'Synced false 1',
        'Synced unknown 0',
        'Odd true 0',
        'Odd false 0',
        'Odd unknown 0',
      ],
    );
  });

  it('timestamp: the lastTransitionTime of each condition that has a valid one', () => {
    const values = new ConditionsGenerator('timestamp').values(object, context(object));
    assert.deepEqual(
      values.map((v) => `${v.labels.get('condition')} ${v.value}`),
      ['Ready 1767225600'],
    );
  });

  it('nothing, and no error, without a list', () => {
    for (const o of [{}, { status: {} }, { status: { conditions: 'x' } }, null, 7])
      assert.deepEqual(new ConditionsGenerator('state').values(o, context(o)), []);
  });
});
