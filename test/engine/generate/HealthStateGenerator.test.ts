import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthJudge } from '../../../src/engine/generate/HealthJudge.ts';
import { HealthStateGenerator, healthVerdict } from '../../../src/engine/generate/HealthStateGenerator.ts';
import { eachContext, lines } from './eachContext.ts';

/** A judge that says what the object's spec.state says, and records what it was asked. */
function recordingJudge() {
  const asked: string[] = [];
  const judge: HealthJudge = {
    verdict(object, group, kind) {
      asked.push(`${group}/${kind}`);
      const state = (object as { spec?: { state?: string } } | null)?.spec?.state;
      return state === 'healthy' || state === 'degraded' ? { state } : { state: 'unknown' };
    },
  };
  return { judge, asked };
}

describe('HealthStateGenerator', () => {
  it('five series, label state, exactly the verdict at 1', () => {
    const { judge, asked } = recordingJudge();
    const object = { apiVersion: 'x.io/v1', kind: 'Foo', spec: { state: 'degraded' } };
    const values = new HealthStateGenerator(judge).values(object, eachContext(object));
    assert.deepEqual(lines(values), [
      'state=healthy 0',
      'state=progressing 0',
      'state=degraded 1',
      'state=suspended 0',
      'state=unknown 0',
    ]);
    assert.deepEqual(asked, ['x.io/Foo']);
  });

  it('judges each object once per generation: the verdict is shared through the memo', () => {
    const { judge, asked } = recordingJudge();
    const object = { apiVersion: 'x.io/v1', kind: 'Foo', spec: { state: 'healthy' } };
    const context = eachContext(object);
    new HealthStateGenerator(judge).values(object, context);
    assert.equal(healthVerdict(judge, object, context).state, 'healthy');
    assert.equal(asked.length, 1);
  });

  it('any JSON gets a state: an object without apiVersion is judged with an empty group and kind', () => {
    const { judge, asked } = recordingJudge();
    for (const object of [null, 7, 'x', [], {}]) {
      const values = new HealthStateGenerator(judge).values(object, eachContext(object));
      assert.equal(values.filter((v) => v.value === 1).length, 1);
    }
    assert.deepEqual(asked, ['/', '/', '/', '/', '/']);
  });
});
