import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InfoGenerator } from '../../../src/engine/generate/InfoGenerator.ts';
import { compilePathLabels } from '../../../src/engine/generate/labels.ts';
import { ValuePath } from '../../../src/engine/generate/ValuePath.ts';
import { eachContext, lines } from './eachContext.ts';

function info(labels: Record<string, string[]>, labelFromKey = '') {
  return new InfoGenerator({
    pathText: '[spec]',
    labelsFromPath: compilePathLabels(
      Object.entries(labels).map(([name, path]) => ({ name, path: new ValuePath(path) })),
    ),
    labelsFromExpression: [],
    labelFromKey,
  });
}

function run(generator: InfoGenerator, target: unknown) {
  return lines(generator.values(target, eachContext({ spec: target })));
}

describe('InfoGenerator', () => {
  it('value 1 with the element labels; no series when no element label resolves', () => {
    assert.deepEqual(run(info({ version: ['version'] }), { version: '1.2' }), ['version=1.2 1']);
    assert.deepEqual(run(info({ version: ['version'] }), { other: 'x' }), []);
    assert.deepEqual(run(info({}), { version: '1.2' }), []);
    assert.deepEqual(run(info({ version: ['version'] }), null), []);
  });

  it('a list gives one series per element that has labels', () => {
    assert.deepEqual(run(info({ name: ['name'] }), [{ name: 'a' }, {}, { name: 'c' }]), [
      'name=a 1',
      'name=c 1',
    ]);
  });

  it('a map gives one series per entry with labelFromKey, then the map itself (KSM order)', () => {
    const target = { version: 'v1', web: { version: 'v2' }, db: 'plain' };
    assert.deepEqual(run(info({ version: ['version'] }, 'key'), target), [
      'key=version 1',
      'key=web,version=v2 1',
      'key=db 1',
      'version=v1 1',
    ]);
  });

  it('star keys copy a whole map of labels', () => {
    assert.deepEqual(run(info({ '*': ['labels'] }), { labels: { team: 'a', tier: 'web' } }), [
      'team=a,tier=web 1',
    ]);
  });
});
